import type { Context, Next } from 'koa';
import { HttpError } from './errors.js';
import type { Block, Counter } from './rate-limiters.js';

/**
 * The `error` of every 429. RFC 6749 registers no rate-limit code; `temporarily_unavailable` (RFC 6749 §4.1.2.1,
 * IANA OAuth Extensions Error Registry) says "try again later" without blaming the client's credentials or grant,
 * so no client drops a link over it. The status (429, RFC 6585 §4) and Retry-After say the rest.
 */
export const RATE_LIMITED = 'temporarily_unavailable';

/** Retry-After (RFC 9110 §10.2.3) plus the RateLimit-* fields of draft-ietf-httpapi-ratelimit-headers. */
export function rateLimitHeaders(block: Block): Record<string, string> {
  const seconds = String(block.retryAfterSeconds);
  return { 'Retry-After': seconds, 'RateLimit-Limit': String(block.limit), 'RateLimit-Remaining': '0', 'RateLimit-Reset': seconds };
}

export const tooManyRequests = (block: Block, description: string) => new HttpError(429, RATE_LIMITED, description, rateLimitHeaders(block));

/**
 * Koa middleware counting one request per key (`keyOf` undefined: not counted); over the limit it throws a 429
 * for the error handler. No counter: the limit is off.
 */
export function limitRequests(counter: Counter | undefined, keyOf: (ctx: Context) => string | undefined, description: string) {
  return async (ctx: Context, next: Next) => {
    const key = counter ? keyOf(ctx) : undefined;
    if (key !== undefined) {
      const block = await counter!.hit(key);
      if (block) throw tooManyRequests(block, description);
    }
    await next();
  };
}
