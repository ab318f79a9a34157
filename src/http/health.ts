import Router from '@koa/router';
import type { AppContext } from '../context.js';

/** `/healthz`: the process answers. `/readyz`: Postgres (and Redis, when configured) answer too. */
export function healthRoutes(context: Pick<AppContext, 'database' | 'redis'>): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, 'ok' | 'unavailable'> = {};
    const probe = async (name: string, check: () => Promise<unknown>) => {
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
        checks[name] = 'ok';
      } catch {
        checks[name] = 'unavailable';
      }
    };
    await probe('postgres', () => context.database.db.raw('select 1'));
    if (context.redis) await probe('redis', () => context.redis!.ping());
    const ready = Object.values(checks).every((value) => value === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  return router;
}
