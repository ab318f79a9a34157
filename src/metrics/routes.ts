import { createHash, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { HttpError } from '../http/errors.js';
import type { Metrics } from './registry.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * GET /metrics: Prometheus text exposition of this instance's registry. With `token` set (METRICS_TOKEN) a
 * scrape must send `Authorization: Bearer <token>` (Prometheus `authorization` / `bearer_token_file`); unset,
 * it is open, for deployments where the port is only reachable from the private network.
 */
export function metricsRoutes({ metrics, token }: { metrics: Metrics; token?: string }): Router {
  const router = createRouter();
  const expected = token ? digest(token) : undefined;
  router.get('/metrics', async (ctx) => {
    if (expected) {
      const presented = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'))?.[1];
      // Compared as digests: constant time, whatever the length.
      if (!presented || !timingSafeEqual(digest(presented), expected)) {
        throw new HttpError(401, 'invalid_token', 'GET /metrics needs the metrics bearer token', {
          'WWW-Authenticate': presented ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"',
        });
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
