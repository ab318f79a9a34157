import { errors, type AccessToken, type KoaContextWithOIDC } from 'oidc-provider';
import type { ResourceServerRow } from '../../queries/resource-servers.js';
import { ACCESS_TOKEN_TYPE, type Subject } from './subject.js';

/**
 * The new token's scopes: no wider than the subject token's, and only scopes of the target API (RFC 8693 §2.1
 * lets the authorization server narrow). An explicit `scope` must lie inside both, or it is `invalid_scope`;
 * without `scope` the token gets every scope the subject token and the target have in common. A token with no
 * scope at all is not issued (`invalid_scope`), so a target with no registered scopes cannot be exchanged for.
 */
export function exchangedScopes(ctx: KoaContextWithOIDC, subject: AccessToken, target: ResourceServerRow): string[] {
  const held = new Set((subject.scope ?? '').split(' ').filter(Boolean));
  const offered = new Set(target.scopes);
  const param = ctx.oidc.params?.scope;
  if (typeof param === 'string' && param.trim()) {
    const requested = [...new Set(param.split(' ').filter(Boolean))];
    for (const scope of requested) {
      if (!held.has(scope)) throw new errors.InvalidScope('requested scope is wider than the subject token', scope);
      if (!offered.has(scope)) throw new errors.InvalidScope('requested scope is not a scope of the target', scope);
    }
    return requested;
  }
  const common = [...held].filter((scope) => offered.has(scope));
  if (!common.length) throw new errors.InvalidScope('the subject token holds none of the target\'s scopes', target.scopes.join(' '));
  return common;
}

/** RFC 8693 §4.1 `act`: the acting client, with an exchanged subject's own actor chain nested under it. */
export function actClaim(clientId: string, subject: AccessToken): { sub: string; act?: unknown } {
  const previous = (subject.extra as { act?: unknown } | undefined)?.act;
  return previous ? { sub: clientId, act: previous } : { sub: clientId };
}

type PayloadResult = { value: string; payload: { extra?: Record<string, unknown> } };

export interface IssueOptions {
  gty: string;
  target: ResourceServerRow;
  scopes: string[];
  /** Seconds; the target's `access_token_ttl` wins. */
  defaultTtl: number;
}

/**
 * The exchanged token: an opaque AccessToken of the same user and the same grant as the subject token, for the
 * target's audience only, with the narrowed scopes, `act`, and the claims every token carries (`extraTokenClaims`:
 * `workspace`). Same grant: revoking the grant (the account page, DELETE /account/grants/:id) ends it with the
 * subject token; bound to the subject's browser session when the subject is. It never outlives the subject token.
 * No refresh token (RFC 8693 §2.2.1 leaves it to the server; a backend exchanges again with a fresh subject).
 */
export async function issueExchangedToken(ctx: KoaContextWithOIDC, subject: Subject, options: IssueOptions): Promise<void> {
  const { provider } = ctx.oidc;
  const client = ctx.oidc.client!;
  const { token: source } = subject;
  const ttl = Math.max(1, Math.min(options.target.access_token_ttl ?? options.defaultTtl, source.remainingTTL));

  const at = new provider.AccessToken({
    accountId: subject.accountId,
    client,
    grantId: subject.grant.jti,
    gty: options.gty,
    scope: options.scopes.join(' '),
    expiresIn: ttl,
    expiresWithSession: source.expiresWithSession,
    sessionUid: source.sessionUid,
    sid: source.sid,
  });
  at.setAudience(options.target.identifier);

  // `extra` is what `extraTokenClaims` returns (the opaque format overwrites the property while saving), so `act`
  // is added to the payload the model stores, after the configured claims. Introspection shows `extra`'s members.
  const act = actClaim(client.clientId, source);
  const model = at as unknown as { getValueAndPayload(): Promise<PayloadResult> };
  const getValueAndPayload = model.getValueAndPayload.bind(at);
  model.getValueAndPayload = async () => {
    const result = await getValueAndPayload();
    result.payload.extra = Object.assign(result.payload.extra ?? {}, { act });
    at.extra = result.payload.extra;
    return result;
  };

  ctx.oidc.entity('AccessToken', at);
  const accessToken = await at.save();

  // RFC 8693 §2.2.1.
  ctx.body = {
    access_token: accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: at.tokenType,
    expires_in: at.expiration,
    scope: at.scope,
  };
}
