import * as oauth from 'openid-client';
import type { AuditOrigin } from '../../audit/origin.js';
import { HttpError, badRequest } from '../../http/errors.js';
import type { TokenResolver } from '../../http/bearer-auth.js';
import { actorLabel, actorOf } from '../actor.js';
import type { IntegrationDeps } from '../deps.js';
import { classifyUpstreamError, safeErrorCode } from '../errors.js';
import { readIdentity, type LinkedIdentity } from '../identity.js';
import { configuredProvider } from '../providers.js';
import { grantedScopes, linkStore } from '../store-link.js';
import type { AcceptGrantDirective } from './directive.js';

export const AMAZON_LWA = 'amazon-lwa';

export interface AcceptGrantDeps extends IntegrationDeps {
  /** Resolves the grantee token (an access token this server issued) to its user. */
  resolveToken: TokenResolver;
}

/**
 * Alexa's AcceptGrant: the grantee token names our user; the grant code is exchanged at Login with Amazon's token
 * URL (from the provider registry, `amazon-lwa`) with the skill's LWA credentials, and the tokens become that
 * user's `amazon-lwa` connection, refreshed like every other. LWA's exchange for these codes takes no
 * redirect_uri (https://developer.amazon.com/en-US/docs/alexa/smarthome/authenticate-a-customer-permissions.html).
 */
export function alexaAcceptGrant(deps: AcceptGrantDeps) {
  const { settings, upstream, audit, logger, resolveToken } = deps;
  const storeLink = linkStore(deps);

  return async function acceptGrant(directive: AcceptGrantDirective, purpose: string, origin: AuditOrigin) {
    const entry = configuredProvider(settings.providers, AMAZON_LWA);
    const principal = await resolveToken(directive.payload.grantee.token);
    // A bad grantee token is a bad request body, not missing credentials (RFC 8693 answers a bad subject_token the same way).
    if (!principal) throw badRequest('payload.grantee.token is not an active access token of this server');
    if (principal.kind !== 'user') throw badRequest('payload.grantee.token must be a user\'s access token (from account linking), not a client_credentials token');
    const actor = actorOf(principal);
    const base = { ...origin, actor: actorLabel(actor), workspaceId: actor.workspace_id };
    const fail = async (status: number, code: string, description: string): Promise<never> => {
      await audit.record({ ...base, type: 'IntegrationConnect', outcome: 'failure', details: { provider: entry.name, purpose, via: 'alexa_accept_grant', error: code } });
      throw new HttpError(status, code, description);
    };

    const config = await upstream.get(entry);
    let tokens: oauth.TokenEndpointResponse & oauth.TokenEndpointResponseHelpers;
    try {
      tokens = await oauth.genericGrantRequest(config, 'authorization_code', { code: directive.payload.grant.code });
    } catch (error) {
      const failure = classifyUpstreamError(error);
      if (failure.kind === 'network') return fail(502, 'upstream_unavailable', `Login with Amazon could not be reached: ${failure.message}`);
      return fail(400, failure.kind === 'oauth' ? safeErrorCode(failure.code) : 'invalid_response', `Login with Amazon refused the grant code: ${failure.message}`);
    }
    if (!tokens.refresh_token) return fail(502, 'invalid_response', 'Login with Amazon returned no refresh token for the grant code');

    // The grant's scope is usually alexa::async_event:write only, which does not allow reading the profile:
    // the identity is best effort, the link stands without it.
    let identity: LinkedIdentity = { subject: null, email: null };
    try {
      identity = await readIdentity(config, entry, tokens);
    } catch (error) {
      logger.info('amazon-lwa identity not readable for an AcceptGrant link', { error: (error as Error).message });
    }
    return storeLink({
      actor,
      provider: entry.name,
      purpose,
      identity,
      scopes: grantedScopes(tokens.scope, []),
      tokens,
      origin,
      details: { via: 'alexa_accept_grant', grantee_client_id: principal.clientId },
    });
  };
}

export type AlexaAcceptGrant = ReturnType<typeof alexaAcceptGrant>;
