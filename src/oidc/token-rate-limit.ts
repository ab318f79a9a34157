import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { sha256 } from '../crypto/secrets.js';
import { RATE_LIMITED, rateLimitHeaders } from '../http/rate-limit.js';
import type { RateLimits } from '../http/rate-limiters.js';

/** The endpoints a client calls with its credentials. */
const ENDPOINTS = ['token', 'introspection', 'revocation'] as const;
/** oidc-provider's own limit for these bodies (lib/shared/selective_body.js). */
const BODY_LIMIT = 56 * 1024;

/**
 * Per-client limits at the token, introspection and revocation endpoints, as a provider middleware.
 * - Counted per *authenticated* client (`ctx.oidc.client`, known after the provider ran), so nobody can spend
 *   another client's budget by sending its client_id with a wrong secret: every Alexa user refreshes through one
 *   client_id. Failed client authentications (401 invalid_client) count per IP instead, and block every request
 *   from that IP while over their limit.
 * - Checked before the provider runs, by the client_id the request claims (Basic credentials, else the form
 *   body's `client_id`): a read only, so a false claim changes nothing. The read is of the blocks this process
 *   learned from its own counts (`Counter.knownBlock`), not a Redis round trip: the counts themselves are shared.
 * Over a limit: 429, OAuth-style JSON, Retry-After.
 */
export function installTokenRateLimit(provider: Provider, { tokenPerClient: perClient, tokenFailuresPerIp: failures }: Pick<RateLimits, 'tokenPerClient' | 'tokenFailuresPerIp'>): void {
  if (!perClient && !failures) return;
  const paths = new Set(ENDPOINTS.map((name) => provider.pathFor(name, { mountPath: '' })));

  provider.use(async (koaCtx, next) => {
    if (koaCtx.method !== 'POST' || !paths.has(koaCtx.path)) return next();
    const ctx = koaCtx as KoaContextWithOIDC;
    let claimed: string | undefined;
    try {
      // The form body is read ahead of the provider only while some client is blocked here: in the common case
      // the provider parses its own body (and there is nothing a claimed client_id could be refused for).
      claimed = perClient?.anyKnownBlock() ? (basicClientId(ctx) ?? (await bodyClientId(ctx))) : undefined;
    } catch {
      // This runs before the provider's own error handling: answer in its JSON shape here.
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'failed to parse the request body' };
      return;
    }
    const block = failures?.knownBlock(ctx.ip) ?? (claimed ? perClient?.knownBlock(clientKey(claimed)) : undefined);
    if (block) {
      ctx.status = 429;
      ctx.set({ ...rateLimitHeaders(block), 'Cache-Control': 'no-store', ...corsForRefusal(ctx.get('origin')) });
      ctx.body = { error: RATE_LIMITED, error_description: 'too many requests; retry after the number of seconds in Retry-After' };
      return;
    }
    await next();
    // The provider sets ctx.oidc.client before it checks the credentials: a 401 invalid_client is not that client.
    if (ctx.status === 401 && (ctx.body as { error?: string } | undefined)?.error === 'invalid_client') await failures?.hit(ctx.ip);
    else if (ctx.oidc?.client) await perClient?.hit(clientKey(ctx.oidc.client.clientId));
  });
}

/**
 * This answer goes out before oidc-provider's CORS middleware runs: give it what that middleware gives every token
 * endpoint answer before a client is known (the Origin echoed), so a browser-based client can read the error and
 * when to retry instead of seeing a network failure.
 */
function corsForRefusal(origin: string): Record<string, string> {
  if (!origin) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset', Vary: 'Origin' };
}

/** Client ids are short here; a long claimed one is hashed rather than stored as a key. */
const clientKey = (clientId: string) => (clientId.length <= 128 ? clientId : sha256(clientId));

/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64. Unreadable ones: undefined (the provider refuses them). */
function basicClientId(ctx: KoaContextWithOIDC): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(ctx.get('authorization'));
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The form body's `client_id`. Reading the body consumes the request stream, so the bytes are handed on as
 * `req.body`, which oidc-provider parses exactly as it would have parsed the stream (selective_body.js;
 * src/oidc/registration.ts does the same; the provider prints a one-time notice that it did). A body without a
 * declared length, or over the provider's limit, is left alone for the provider to refuse.
 */
async function bodyClientId(ctx: KoaContextWithOIDC): Promise<string | undefined> {
  const length = Number(ctx.get('content-length'));
  if (!ctx.is('application/x-www-form-urlencoded') || !Number.isInteger(length) || length <= 0 || length > BODY_LIMIT) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > length) throw new Error('request size did not match content length');
    chunks.push(chunk as Buffer);
  }
  if (size !== length) throw new Error('request size did not match content length');
  const raw = Buffer.concat(chunks, size);
  (ctx.req as typeof ctx.req & { body?: unknown }).body = raw;
  const clientId = new URLSearchParams(raw.toString('utf8')).get('client_id');
  return clientId || undefined;
}
