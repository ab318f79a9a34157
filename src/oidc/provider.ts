import { hkdfSync } from 'node:crypto';
import Provider, { type Configuration } from 'oidc-provider';
import type { Logger } from 'winston';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { AccountService } from '../accounts/service.js';
import type { Queries } from '../queries/index.js';
import type { OutboundPolicy } from '../net/outbound-policy.js';
import { CLAIMS, createFindAccount } from './accounts.js';
import { DEFAULT_CLIENT_SCOPE, extraClientMetadata, installClientSecretHashing, pkce } from './client-metadata.js';
import { loadExistingGrant } from './first-party.js';
import { logoutPages, renderError } from './pages.js';
import { expiresWithSession, issueRefreshToken, rotateRefreshToken, ttlPolicy } from './policies.js';
import { resourceIndicators } from './resource-servers.js';
import { introspectionAllowed, revocationAllowed, revokeGrantPolicy } from './token-policies.js';
import { installRegistrationSecretGuard, registration, registrationManagement } from './registration.js';
import { workspaceClaim } from './token-claims.js';
import { installGoogleLinking } from './google-linking.js';
import { installTokenExchange } from './token-exchange.js';
import { outboundFetch } from './outbound-fetch.js';
import { outageAware } from './store-outage.js';
import { installProviderBoundary } from './provider-boundary.js';
import { pinUrlsToIssuer } from './issuer-urls.js';
import { installGrantTypeRefusal } from './grant-type-refusal.js';
import { installLogoutOutcome } from './logout-outcome.js';
import type { JWK } from 'jose';
import type { Adapter } from 'oidc-provider';

/** CONTRACT.md, Scopes. */
export const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'account', 'integrations:token', 'admin'];

export interface ProviderDependencies {
  config: Config;
  logger: Logger;
  keyring: KeyRing;
  queries: Queries;
  accounts: AccountService;
  adapter: new (name: string) => Adapter;
  jwks: { keys: JWK[] };
  /** Where the provider's own fetches may connect (jwks_uri, sector_identifier_uri, back-channel logout). */
  outbound: OutboundPolicy;
}

/** Cookie signing keys derived from the encryption key ring (first signs, all verify), so there is no extra secret. */
function cookieKeys(keyring: KeyRing): string[] {
  return keyring.keyMaterial().map((key) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'oauth-hub cookie keys v1', 32)).toString('base64url'));
}

export function createProvider(deps: ProviderDependencies): Provider {
  const { config, logger } = deps;
  // What the hooks below query themselves (not through the adapter) answers 503 while Postgres is away.
  const accounts = outageAware(deps.accounts);
  const users = outageAware(deps.queries.users);
  const resourceServers = outageAware(deps.queries.resourceServers);
  const configuration: Configuration = {
    adapter: deps.adapter,
    findAccount: createFindAccount(accounts),
    claims: CLAIMS,
    scopes: SCOPES,
    jwks: deps.jwks as Configuration['jwks'],
    cookies: { keys: cookieKeys(deps.keyring) },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
      scope: DEFAULT_CLIENT_SCOPE,
    },
    extraClientMetadata,
    // Authorization code only: no implicit or hybrid (RFC 9700 §2.1.2). There is no password grant.
    responseTypes: ['code'],
    pkce,
    // RFC 9700 §4.1.3: the redirect_uri parameter is always required and compared exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed },
      revocation: { enabled: true, allowedPolicy: revocationAllowed },
      userinfo: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      registration,
      registrationManagement,
      rpInitiatedLogout: { enabled: true, ...logoutPages },
      // OpenID Connect Back-Channel Logout 1.0: at logout, a signed logout token to each client of the session that registered a backchannel_logout_uri.
      backchannelLogout: { enabled: true },
      resourceIndicators: resourceIndicators(resourceServers, config.ttl.accessToken),
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant,
    // RFC 7009: revoking any token of a user grant (access or refresh) ends the whole grant (token-policies.ts).
    revokeGrantPolicy,
    ttl: ttlPolicy(config.ttl),
    extraTokenClaims: workspaceClaim(accounts),
    issueRefreshToken,
    expiresWithSession,
    rotateRefreshToken,
    renderError,
    fetch: outboundFetch({ policy: deps.outbound, logger, production: config.nodeEnv === 'production' }),
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  pinUrlsToIssuer(provider);
  // First: the outermost provider middleware, so it also shapes what the ones installed after it answer.
  installProviderBoundary(provider);
  installGrantTypeRefusal(provider);
  installLogoutOutcome(provider);
  installClientSecretHashing(provider);
  installRegistrationSecretGuard(provider);
  installGoogleLinking(provider, { config: config.googleLinking, users, logger, issueRefreshToken: configuration.issueRefreshToken! });
  installTokenExchange(provider, { resourceServers, findAccount: configuration.findAccount!, accessTokenTtl: config.ttl.accessToken });

  // A logout token that did not reach an app: the app keeps its own session until it learns otherwise.
  (provider as unknown as NodeJS.EventEmitter).on('backchannel.error', (_ctx: unknown, error: Error, client: { clientId?: string }) =>
    logger.warn('back-channel logout delivery failed', { clientId: client?.clientId, error: error.message }),
  );
  // Protocol failures are expected traffic (debug); server errors are ours to look at. Never log tokens.
  provider.on('server_error', (ctx, error) => logger.error('oidc server error', { requestId: ctx?.get?.('x-request-id'), path: ctx?.path, error: error.message }));
  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'authorization.error', 'end_session.error', 'userinfo.error', 'pushed_authorization_request.error'] as const) {
    (provider as unknown as NodeJS.EventEmitter).on(event, (_ctx: unknown, error: Error & { error_description?: string }) =>
      logger.debug('oidc request rejected', { event, error: error.message, description: error.error_description }),
    );
  }
  return provider;
}
