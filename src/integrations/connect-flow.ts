import * as oauth from 'openid-client';
import { sha256 } from '../crypto/secrets.js';
import { HttpError, badRequest } from '../http/errors.js';
import type { AuditOrigin } from '../audit/origin.js';
import { actorLabel, type IntegrationActor } from './actor.js';
import type { IntegrationDeps } from './deps.js';
import { disconnectFlow } from './disconnect.js';
import { classifyUpstreamError, safeErrorCode } from './errors.js';
import { readIdentity } from './identity.js';
import { callbackUrl, configuredProvider } from './providers.js';
import { stateVerifierAad } from './sealing.js';
import { grantedScopes, linkStore } from './store-link.js';

export interface AuthorizeRequest {
  purpose: string;
  return_to?: string;
  /** Replaces the provider's default scopes (e.g. an incremental grant). */
  scopes?: string[];
}

const invalidState = (description: string) => badRequest(description, 'invalid_state');

/**
 * Connect: one generic authorization-code flow on openid-client for every provider in the registry.
 * State, PKCE verifier and nonce stay server-side (`oauth_states`: single use, bound to the actor and the
 * provider, `stateTtlSeconds`); the callback is authenticated by the state alone.
 */
export function connectFlow(deps: IntegrationDeps) {
  const { settings, oauthStates, actors, keyring, upstream, audit, clock } = deps;
  const storeLink = linkStore(deps);
  const unlink = disconnectFlow(deps);

  /** `return_to` must be on this server's own origin (no open redirect). */
  const checkReturnTo = (value: string | undefined): string | null => {
    if (value === undefined) return null;
    let url: URL;
    try {
      url = new URL(value, settings.issuer);
    } catch {
      throw badRequest('return_to is not a URL');
    }
    if (url.origin !== new URL(settings.issuer).origin) throw badRequest(`return_to must be on ${new URL(settings.issuer).origin}`);
    return url.toString();
  };

  return {
    async authorize(actor: IntegrationActor, providerName: string, request: AuthorizeRequest) {
      const entry = configuredProvider(settings.providers, providerName);
      const returnTo = checkReturnTo(request.return_to);
      const config = await upstream.get(entry);
      const scopes = request.scopes ?? entry.scopes;
      const state = oauth.randomState();
      const stateHash = sha256(state);
      const verifier = entry.pkce ? oauth.randomPKCECodeVerifier() : undefined;
      const nonce = scopes.includes('openid') ? oauth.randomNonce() : undefined;
      const now = clock();
      await oauthStates.insert({
        state_hash: stateHash,
        provider: entry.name,
        ...actor,
        purpose: request.purpose,
        return_to: returnTo,
        code_verifier_enc: verifier ? keyring.encrypt(verifier, stateVerifierAad(stateHash)) : null,
        nonce: nonce ?? null,
        scopes,
        created_at: new Date(now),
        expires_at: new Date(now + settings.stateTtlSeconds * 1000),
      });
      const params: Record<string, string> = {
        ...entry.authorization_params,
        response_type: 'code',
        redirect_uri: callbackUrl(settings.issuer, entry.name),
        state,
      };
      if (scopes.length) params.scope = scopes.join(' ');
      if (verifier) Object.assign(params, { code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      if (nonce) params.nonce = nonce;
      return { authorization_url: oauth.buildAuthorizationUrl(config, params).toString(), expires_in: settings.stateTtlSeconds };
    },

    /** The provider's redirect. Every failure is a 4xx (or 502 when the provider is unreachable) and stores nothing. */
    async callback(providerName: string, query: URLSearchParams, origin: AuditOrigin) {
      const entry = configuredProvider(settings.providers, providerName);
      const state = query.get('state');
      if (!state) throw badRequest('the callback has no state parameter');
      const pending = await oauthStates.take(sha256(state), entry.name);
      if (!pending) throw invalidState('unknown state: it was already used, never issued, or issued for another provider');
      if (new Date(pending.expires_at).getTime() <= clock()) throw invalidState('the authorization request expired; start again');
      const actor: IntegrationActor = { workspace_id: pending.workspace_id, actor_type: pending.actor_type, actor_id: pending.actor_id };
      const auditBase = { ...origin, actor: actorLabel(actor), workspaceId: actor.workspace_id, details: { provider: entry.name, purpose: pending.purpose } };

      const fail = async (status: number, code: string, description: string): Promise<never> => {
        await audit.record({ ...auditBase, type: 'IntegrationConnect', outcome: 'failure', details: { ...auditBase.details, error: code } });
        throw new HttpError(status, code, description);
      };
      // The user or client that started the flow was deleted (or its client_id re-created elsewhere): store nothing.
      // Same code as the other dead-state answers: the state's actor binding can no longer be honoured.
      const actorGone = () => fail(400, 'invalid_state', `${actorLabel(actor)}, who started this authorization request, no longer exists`);
      if (!(await actors.exists(actor))) return actorGone();
      if (query.has('error')) {
        const code = safeErrorCode(query.get('error'));
        return fail(400, code, `the provider answered ${code}${query.get('error_description') ? `: ${query.get('error_description')}` : ''}`);
      }

      let pkceCodeVerifier: string | undefined;
      try {
        pkceCodeVerifier = pending.code_verifier_enc ? keyring.decrypt(pending.code_verifier_enc, stateVerifierAad(pending.state_hash)) : undefined;
      } catch {
        return fail(400, 'invalid_state', 'the authorization request can no longer be read (its key left the ring); start again');
      }
      const config = await upstream.get(entry);
      const currentUrl = new URL(callbackUrl(settings.issuer, entry.name));
      currentUrl.search = query.toString();
      // RFC 9207: `iss` is checked against the issuer found by discovery. A provider configured by explicit
      // endpoints has no known issuer identifier; its per-provider redirect URI and provider-bound state give
      // the mix-up protection instead (RFC 9700 §4.4.2).
      if (!entry.issuer) currentUrl.searchParams.delete('iss');
      let tokens: Awaited<ReturnType<typeof oauth.authorizationCodeGrant>>;
      try {
        tokens = await oauth.authorizationCodeGrant(config, currentUrl, { expectedState: state, pkceCodeVerifier, expectedNonce: pending.nonce ?? undefined });
      } catch (error) {
        const failure = classifyUpstreamError(error);
        if (failure.kind === 'network') return fail(502, 'upstream_unavailable', `the provider could not be reached: ${failure.message}`);
        return fail(400, failure.kind === 'oauth' ? safeErrorCode(failure.code) : 'invalid_response', `the provider's response was refused: ${failure.message}`);
      }
      let identity;
      try {
        identity = await readIdentity(config, entry, tokens);
      } catch (error) {
        return fail(502, 'upstream_unavailable', `the linked account's identity could not be read: ${(error as Error).message}`);
      }

      const row = await storeLink({
        actor,
        provider: entry.name,
        purpose: pending.purpose,
        identity,
        scopes: grantedScopes(tokens.scope, pending.scopes),
        tokens,
        origin,
      });
      // Deleted during the exchange: the delete's cascade may have listed the actor's links before this one was
      // stored, so it is disconnected here (the row stays `revoked`, without tokens).
      if (!(await actors.exists(actor))) {
        await unlink.disconnect(row, origin);
        return actorGone();
      }
      return { connection: row, returnTo: pending.return_to };
    },
  };
}

export type ConnectFlow = ReturnType<typeof connectFlow>;
