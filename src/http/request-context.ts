import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'winston';
import { withRequestId } from '../logger.js';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Request id (incoming `X-Request-Id` when well-formed, else a fresh one) on the response and on every log line
 * written while the request runs, and one access-log line per request.
 * Logs the path only: query strings can hold codes and state, and never reach the log.
 */
export function requestContext(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    // oidc-provider builds its own Koa context from the raw request: this is how its events see the id.
    ctx.req.headers['x-request-id'] = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      // Every line logged while this request runs carries its id (src/logger.ts).
      await withRequestId(requestId, next);
    } finally {
      // winston formats a line (redaction, timestamp, JSON) before its transports drop it for its level: at the
      // default level (info) this check saves that work on every request.
      if (logger.isLevelEnabled('http')) logAccess();
    }
    function logAccess() {
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      logger.http('request', {
        requestId,
        method: ctx.method,
        path: ctx.path,
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    }
  };
}

/**
 * Headers on every response: no framing, no referrer, no sniffing. Pages set a full CSP of their own;
 * the default one only forbids framing, so oidc-provider's form_post and logout pages keep working.
 */
export async function securityHeaders(ctx: Context, next: Next) {
  ctx.set({
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
  // RFC 6749 §5.1 and §5.2: token endpoint answers, errors included, carry `Pragma: no-cache` beside
  // `Cache-Control: no-store`. oidc-provider sets only the latter (RFC 9111 made Pragma obsolete); HTTP/1.0 caches
  // still read it. Set before the provider writes its answer, which keeps headers already on the response.
  if (ctx.path === '/token') ctx.set('Pragma', 'no-cache');
  await next();
}
