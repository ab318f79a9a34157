import type Router from '@koa/router';
import { createRouter } from './router.js';
import type { AppContext } from '../context.js';

/**
 * `/healthz`: the process answers (liveness). `/readyz`: Postgres, Redis (when configured) and the job queue answer
 * too (readiness): 503 naming the check that failed, never why in detail (the log has that).
 */
export function healthRoutes(context: Pick<AppContext, 'database' | 'redis' | 'queue' | 'logger'>): Router {
  const router = createRouter();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, 'ok' | 'unavailable'> = {};
    const probe = async (name: string, check: () => Promise<unknown>) => {
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
        checks[name] = 'ok';
      } catch (error) {
        context.logger.warn('readiness check failed', { check: name, error: (error as Error)?.message });
        checks[name] = 'unavailable';
      }
    };
    // In parallel: a hung store costs one timeout, not one per check.
    await Promise.all([
      probe('postgres', () => context.database.db.raw('select 1')),
      context.redis ? probe('redis', () => context.redis!.ping()) : undefined,
      probe('queue', () => context.queue.check()),
    ]);
    const ready = Object.values(checks).every((value) => value === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  return router;
}
