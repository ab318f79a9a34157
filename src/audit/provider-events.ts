import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from './writer.js';
import type { AuditEvent, AuditType } from './types.js';
import { ACCOUNT_CREATED_EVENT } from '../oidc/google-linking.js';
import { answeredError } from '../oidc/grant-type-refusal.js';
import { revocationDecision } from '../oidc/token-policies.js';

interface OidcError extends Error {
  error?: string;
  error_description?: string;
}

type ClientLike = { clientId: string; workspace_id?: string } | undefined;

/** Who, where and from which address, as far as the provider's context knows. */
function origin(ctx: KoaContextWithOIDC) {
  const client = ctx.oidc?.client as ClientLike;
  const entities = (ctx.oidc?.entities ?? {}) as { Grant?: { accountId?: string; jti?: string } };
  const accountId = entities.Grant?.accountId ?? ctx.oidc?.session?.accountId ?? null;
  return {
    clientId: client?.clientId ?? null,
    workspaceId: client?.workspace_id ?? null,
    accountId,
    ip: ctx.ip ?? null,
    requestId: ctx.get?.('x-request-id') || null,
    actor: client ? `client:${client.clientId}` : accountId ? `user:${accountId}` : 'anonymous',
  };
}

/**
 * The account whose grant a request ended: its Grant entity, else the token it presented (the revocation endpoint and
 * refresh-token reuse load no Grant). Only for what the client was entitled to act on: a refused attempt on another
 * client's (or tenant's) token does not name that token's account.
 */
function accountActedOn(ctx: KoaContextWithOIDC): string | null {
  const entities = (ctx.oidc?.entities ?? {}) as Record<string, { accountId?: string } | undefined>;
  for (const kind of ['Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode']) {
    const accountId = entities[kind]?.accountId;
    if (accountId) return accountId;
  }
  return origin(ctx).accountId;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function tokenEventType(grantType: unknown): AuditType {
  if (grantType === 'refresh_token') return 'OAuthTokenRefresh';
  if (grantType === TOKEN_EXCHANGE) return 'OAuthTokenExchange';
  return 'OAuthTokenIssue';
}

/** The error as the client was answered (a refused grant type is renamed on the way out: src/oidc/grant-type-refusal.ts). */
const failure = (ctx: KoaContextWithOIDC, error: OidcError) => ({
  error: answeredError(ctx, error.error ?? 'server_error'),
  error_description: error.error_description,
});

export interface ProviderAuditOptions {
  /** Called for each grant a token was issued or introspected for (last_used_at bookkeeping). */
  onGrantUsed?(grantId: string): void;
}

/**
 * Feeds the audit log from oidc-provider's events (and, for revocation, which emits no success event, from a
 * provider middleware). https://github.com/panva/node-oidc-provider/blob/main/docs/events.md
 */
export function auditProviderEvents(provider: Provider, audit: AuditLog, options: ProviderAuditOptions = {}): void {
  const emitter = provider as unknown as NodeJS.EventEmitter;
  // The audit writes each provider request started; it answers only once they are stored (see the middleware below).
  const writesOf = new WeakMap<object, Array<Promise<void>>>();
  // Every event listened to below is emitted with the provider's context, in code its request awaits.
  const write = (ctx: KoaContextWithOIDC, type: AuditType, extra: Partial<AuditEvent> = {}) => {
    const stored = audit.record({ ...origin(ctx), type, ...extra });
    const writes = writesOf.get(ctx);
    if (writes) writes.push(stored);
    else writesOf.set(ctx, [stored]);
  };

  emitter.on('authorization.success', (ctx: KoaContextWithOIDC) => {
    const grant = ctx.oidc.entities.Grant as { jti?: string } | undefined;
    write(ctx, 'OAuthAuthorize', {
      actor: ctx.oidc.session?.accountId ? `user:${ctx.oidc.session.accountId}` : origin(ctx).actor,
      details: { scope: ctx.oidc.params?.scope, grant_id: grant?.jti, response_type: ctx.oidc.params?.response_type },
    });
  });
  emitter.on('authorization.error', (ctx: KoaContextWithOIDC, error: OidcError) =>
    write(ctx, 'OAuthAuthorize', { outcome: 'failure', details: failure(ctx, error) }),
  );

  emitter.on(ACCOUNT_CREATED_EVENT, (ctx: KoaContextWithOIDC, user: { id: string; workspace_id: string }) =>
    write(ctx, 'UserCreate', { accountId: user.id, workspaceId: user.workspace_id, details: { via: 'google_streamlined_linking' } }),
  );

  emitter.on('grant.success', (ctx: KoaContextWithOIDC) => {
    // Streamlined linking's `check` only answers whether an account exists: no token, no event.
    if (ctx.oidc.params?.grant_type === JWT_BEARER && ctx.oidc.params?.intent === 'check') return;
    const entities = ctx.oidc.entities as { Grant?: { jti?: string }; AccessToken?: { scope?: string }; ClientCredentials?: { scope?: string } };
    const grantId = entities.Grant?.jti;
    if (grantId) options.onGrantUsed?.(grantId);
    write(ctx, tokenEventType(ctx.oidc.params?.grant_type), {
      details: { grant_type: ctx.oidc.params?.grant_type, grant_id: grantId, scope: entities.AccessToken?.scope ?? entities.ClientCredentials?.scope },
    });
  });
  emitter.on('grant.error', (ctx: KoaContextWithOIDC, error: OidcError) =>
    write(ctx, tokenEventType(ctx.oidc?.params?.grant_type), { outcome: 'failure', details: { grant_type: ctx.oidc?.params?.grant_type, ...failure(ctx, error) } }),
  );

  // The provider revoked a whole grant itself: any token of it revoked at RFC 7009 (revokeGrantPolicy,
  // src/oidc/token-policies.ts), a refresh token reused, a code replayed. Every token of the grant died with it.
  emitter.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const details = { grant_id: grantId, via: ctx.oidc?.route };
    const accountId = accountActedOn(ctx);
    write(ctx, 'OAuthGrantRevoke', { accountId, details });
    write(ctx, 'OAuthRevoke', { accountId, details: { ...details, cascade: true } });
  });
  emitter.on('revocation.error', (ctx: KoaContextWithOIDC, error: OidcError) => write(ctx, 'OAuthRevoke', { outcome: 'failure', details: failure(ctx, error) }));

  emitter.on('end_session.success', (ctx: KoaContextWithOIDC) => write(ctx, 'OAuthLogout'));

  for (const [event, type] of [
    ['registration_create.success', 'OAuthClientCreate'],
    ['registration_update.success', 'OAuthClientUpdate'],
    ['registration_delete.success', 'OAuthClientRevoke'],
  ] as const) {
    emitter.on(event, (ctx: KoaContextWithOIDC, client: { clientId: string; workspace_id?: string }) =>
      write(ctx, type, { actor: `client:${client.clientId}`, clientId: client.clientId, workspaceId: client.workspace_id ?? null, details: { via: 'dynamic_registration' } }),
    );
  }

  // Revocation and introspection emit no success event: a provider middleware looks at their outcome.
  const afterResponse = (ctx: KoaContextWithOIDC): void => {
    if (ctx.status !== 200) return;
    const entities = (ctx.oidc?.entities ?? {}) as Record<string, { grantId?: string; jti?: string } | undefined>;
    if (ctx.oidc?.route === 'introspection') {
      if ((ctx.body as { active?: boolean })?.active && entities.Grant?.jti) options.onGrantUsed?.(entities.Grant.jti);
      return;
    }
    // RFC 7009 answers 200 whether or not anything was revoked; the allowed policy says which it was
    // (src/oidc/token-policies.ts). A refusal answered with an error is audited by `revocation.error` above.
    const decision = ctx.oidc?.route === 'revocation' ? revocationDecision(ctx) : undefined;
    const kind = ['RefreshToken', 'AccessToken', 'ClientCredentials'].find((k) => entities[k]);
    if (!decision || !kind) return;
    if (decision.revoked) write(ctx, 'OAuthRevoke', { accountId: accountActedOn(ctx), details: { token_type: kind, grant_id: entities[kind]?.grantId } });
    else write(ctx, 'OAuthRevoke', { outcome: 'failure', details: { token_type: kind, reason: decision.refusal } });
  };

  // Every response of the provider (tokens, codes, revocations, errors) leaves only after the audit rows of what it
  // reports are stored: a crash between the two cannot leave an issued token without its event (test/faults/kill-9).
  // The wait is bounded (AuditLog.settle): a stuck audit INSERT delays answers, it does not stop them.
  provider.use(async (koaCtx, next) => {
    try {
      await next();
      afterResponse(koaCtx as KoaContextWithOIDC);
    } finally {
      const writes = writesOf.get(koaCtx);
      if (writes) await audit.settle(writes);
    }
  });
}
