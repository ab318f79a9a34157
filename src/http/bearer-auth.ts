import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { HttpError } from './errors.js';

/** Who is calling, decided by an access token this server issued. */
export interface Principal {
  kind: 'user' | 'client';
  clientId: string;
  /** Set for user tokens. */
  accountId?: string;
  /** The workspace of the user, or of the client for client_credentials tokens. */
  workspaceId: string;
  scopes: Set<string>;
  /** `user:<id>` or `client:<client_id>`: the audit log's actor. */
  actor: string;
}

interface TokenLike {
  isValid: boolean;
  clientId?: string;
  accountId?: string;
  grantId?: string;
  scope?: string;
  aud?: string | string[];
}

const unauthorized = (realm: string, description: string, presented: boolean) =>
  new HttpError(401, 'invalid_token', description, {
    // RFC 6750 §3: no error code when no credentials were presented.
    'WWW-Authenticate': presented ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`,
  });

function bearerValue(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}

/**
 * Resolves a bearer token in-process through oidc-provider's own token models (no HTTP hop, no second token
 * format): an access token (user) or a client_credentials token (client), still valid, of a client and a
 * grant that still exist, not meant for another audience.
 */
export function createTokenResolver(provider: Provider, workspaceOfAccount: (accountId: string) => Promise<string | undefined>) {
  return async function resolve(value: string): Promise<Principal | undefined> {
    const [access, clientCredentials] = (await Promise.all([provider.AccessToken.find(value), provider.ClientCredentials.find(value)])) as [
      TokenLike | undefined,
      TokenLike | undefined,
    ];
    const token = access ?? clientCredentials;
    if (!token?.isValid || !token.clientId) return undefined;
    // A token for a registered resource server is not a token for this server's own APIs.
    if (token.aud !== undefined && (!Array.isArray(token.aud) || token.aud.length > 0)) return undefined;
    const client = (await provider.Client.find(token.clientId)) as { workspace_id?: string; scope?: string; clientAuthMethod?: string } | undefined;
    if (!client) return undefined;
    const scopes = new Set((token.scope ?? '').split(' ').filter(Boolean));

    if (access) {
      if (!token.grantId || !token.accountId) return undefined;
      const grant = await provider.Grant.find(token.grantId);
      if (!grant || grant.clientId !== token.clientId || grant.accountId !== token.accountId) return undefined;
      const workspaceId = await workspaceOfAccount(token.accountId);
      if (!workspaceId) return undefined;
      return { kind: 'user', clientId: token.clientId, accountId: token.accountId, workspaceId, scopes, actor: `user:${token.accountId}` };
    }
    // A machine token speaks for its client as the client is now: a scope an admin has since removed from the
    // client's metadata no longer counts, and a public client is never a machine principal.
    if (client.clientAuthMethod === 'none') return undefined;
    const current = new Set((client.scope ?? '').split(' '));
    const granted = new Set([...scopes].filter((scope) => current.has(scope)));
    return { kind: 'client', clientId: token.clientId, workspaceId: client.workspace_id ?? 'default', scopes: granted, actor: `client:${token.clientId}` };
  };
}

export type TokenResolver = ReturnType<typeof createTokenResolver>;

/**
 * Koa middleware: 401 without a usable token, 403 `insufficient_scope` without `scope` (RFC 6750 §3.1).
 * Sets `ctx.state.principal`.
 */
export function requireBearer(resolve: TokenResolver, options: { scope?: string; realm: string; kinds?: Array<Principal['kind']> }) {
  return async (ctx: Context, next: Next) => {
    const value = bearerValue(ctx);
    if (!value) throw unauthorized(options.realm, 'a bearer access token issued by this server is required', false);
    const principal = await resolve(value);
    if (!principal) throw unauthorized(options.realm, 'the access token is invalid, expired or revoked', true);
    if (options.scope && !principal.scopes.has(options.scope)) {
      throw new HttpError(403, 'insufficient_scope', `the access token lacks the ${options.scope} scope`, {
        'WWW-Authenticate': `Bearer realm="${options.realm}", error="insufficient_scope", scope="${options.scope}"`,
      });
    }
    if (options.kinds && !options.kinds.includes(principal.kind)) {
      throw new HttpError(403, 'insufficient_scope', `this API needs a ${options.kinds.join(' or ')} token`);
    }
    ctx.state.principal = principal;
    await next();
  };
}
