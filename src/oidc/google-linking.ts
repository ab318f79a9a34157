import { randomUUID } from 'node:crypto';
import { errors, type Configuration, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { Logger } from 'winston';
import type { Config } from '../config.js';
import { generateSecret, hashPassword } from '../crypto/secrets.js';
import type { UserQueries, UserRow } from '../queries/users.js';
import { assertLinkingConfig, assertionVerifier, type GoogleIdentity, type VerifyAssertion } from './google-linking/assertion.js';
import { issueLinkTokens, JWT_BEARER, linkingScopes } from './google-linking/tokens.js';

export { JWT_BEARER } from './google-linking/tokens.js';

/**
 * Google streamlined account linking ("OAuth-based Google Sign-In"): Google posts to our token endpoint
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `intent=check|get|create`, `assertion=<Google ID token>`,
 * `scope`, with the client credentials of the Google client (in the body; HTTP Basic works too).
 * https://developers.google.com/identity/account-linking/oauth-with-sign-in-linking
 *
 * - check:  200 {"account_found":"true"} / 404 {"account_found":"false"}
 * - get:    tokens for the matching account, or 401 {"error":"linking_error"}
 * - create: a new account and its tokens, or 401 {"error":"linking_error","login_hint":"<email>"} if the email is taken
 *
 * Built on oidc-provider's `registerGrantType`: the token endpoint authenticates the client, checks that its
 * `grant_types` include this grant, and emits `grant.success` / `grant.error` (the audit log) around the handler.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#registergranttype
 */

type IssueRefreshToken = NonNullable<Configuration['issueRefreshToken']>;

export interface GoogleLinkingDependencies {
  config: Config['googleLinking'];
  users: UserQueries;
  logger: Logger;
  /** The provider's configured `issueRefreshToken` policy, so linking issues refresh tokens as the code grant does. */
  issueRefreshToken: IssueRefreshToken;
}

const INTENTS = new Set(['check', 'get', 'create']);

/** Google's error for "no usable account" (401). */
class LinkingError extends errors.OIDCProviderError {
  constructor(description: string) {
    super(401, 'linking_error');
    this.error_description = description;
  }
}

/** login_hint of a failed `create`, added to the error body by the middleware below (oidc-provider renders only error/error_description). */
const loginHints = new WeakMap<object, string>();

/**
 * Which account a Google identity is. Rule: the account whose email (users.email_normalized) equals the ID token's
 * `email`, and only when Google asserts `email_verified: true` (checked by the handler before this runs).
 * Accounts are not matched by Google `sub`: there is no table of linked external identities yet, so a user who
 * changes the address of their Google account is no longer found (they link through the web OAuth flow instead).
 * Users are created only by administrators or by `create` here, so an email on file belongs to that person.
 */
function findAccount(users: UserQueries, identity: GoogleIdentity): Promise<UserRow | undefined> {
  return users.findByEmail(identity.email);
}

function linkingHandler(deps: GoogleLinkingDependencies, verify: VerifyAssertion) {
  const { users, logger, issueRefreshToken } = deps;
  return async (ctx: KoaContextWithOIDC) => {
    const { params } = ctx.oidc;
    const client = ctx.oidc.client!;
    const intent = params?.intent;
    const assertion = params?.assertion;
    if (typeof assertion !== 'string' || !assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
    if (typeof intent !== 'string' || !INTENTS.has(intent)) throw new errors.InvalidRequest("intent must be 'check', 'get' or 'create'");
    // A public client could trade any leaked Google ID token for tokens: only a client with a secret may link.
    if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('streamlined linking needs a confidential client');
    // Scopes are checked before anything is created.
    const scopes = intent === 'check' ? [] : linkingScopes(ctx);

    const identity = await verify(assertion);
    if (!identity.emailVerified) throw new errors.InvalidGrant('assertion email is not verified');
    const account = await findAccount(users, identity);

    if (intent === 'check') {
      ctx.status = account ? 200 : 404;
      ctx.body = { account_found: account ? 'true' : 'false' };
      return;
    }

    if (intent === 'get') {
      if (!account) throw new LinkingError('no account matches this Google account');
      await issueLinkTokens(ctx, account.id, scopes, issueRefreshToken);
      return;
    }

    // create: a password-less account (a random, never-revealed password: signing in with a password needs a reset).
    const created = account
      ? undefined
      : await users.insertUnlessTaken({
          id: randomUUID(),
          workspace_id: (client as { workspace_id?: string }).workspace_id ?? 'default',
          email: identity.email.trim(),
          email_verified: true,
          name: identity.name ?? null,
          password_hash: await hashPassword(generateSecret()),
        });
    if (!created) {
      loginHints.set(ctx, identity.email);
      throw new LinkingError('an account with this email exists: link it by signing in');
    }
    logger.info('account created through Google streamlined linking', { accountId: created.id, clientId: client.clientId, workspaceId: created.workspace_id });
    // Our own provider event: the audit log records it as UserCreate (src/audit/provider-events.ts).
    (ctx.oidc.provider as unknown as NodeJS.EventEmitter).emit(ACCOUNT_CREATED_EVENT, ctx, created);
    await issueLinkTokens(ctx, created.id, scopes, issueRefreshToken);
  };
}

const PARAMETERS = ['intent', 'assertion', 'scope'];

/** Emitted with (ctx, user row) when streamlined linking creates an account. */
export const ACCOUNT_CREATED_EVENT = 'google_linking.account_created';

/**
 * Registers the grant. Without GOOGLE_LINKING_CLIENT_ID it answers `unsupported_grant_type` (CONTRACT.md) and
 * discovery does not advertise it. It is registered even then: a client whose `grant_types` lists it (a Google
 * client set up while linking was configured) must stay a valid client, or its authorization_code and
 * refresh_token requests would fail too (oidc-provider rejects metadata naming an unknown grant type).
 * The JWKS URI rule is checked either way, at start.
 */
export function installGoogleLinking(provider: Provider, deps: GoogleLinkingDependencies): void {
  assertLinkingConfig(deps.config);
  const { clientId } = deps.config;
  const handler = clientId
    ? linkingHandler(deps, assertionVerifier({ ...deps.config, clientId }))
    : () => {
        throw new errors.UnsupportedGrantType('Google streamlined linking is not configured (GOOGLE_LINKING_CLIENT_ID)');
      };
  provider.registerGrantType(JWT_BEARER, handler, PARAMETERS);

  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { error?: string; grant_types_supported?: string[] } | undefined;
    if (!clientId && ctx.oidc?.route === 'discovery' && Array.isArray(body?.grant_types_supported)) {
      body.grant_types_supported = body.grant_types_supported.filter((type) => type !== JWT_BEARER);
    }
    const hint = loginHints.get(ctx);
    if (hint && ctx.status === 401 && body?.error === 'linking_error') ctx.body = { ...body, login_hint: hint };
  });
}
