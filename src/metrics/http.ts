import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import type { Metrics } from './registry.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface RouterLayer {
  path: unknown;
  methods: string[];
}

/**
 * The `route` label: oidc-provider's route name (`token`, `introspection`, `authorization`, …) or the matched
 * @koa/router template (`/admin/clients/:id`), never the raw path, so the label cannot grow with ids or junk
 * requests. Read from `ctx.matched` (every layer the routers matched) rather than `ctx._matchedRoute`, which a
 * router's middleware layer (bearer auth answering 401) would leave pointing at itself. Anything else: `other`.
 */
export function routeLabel(ctx: Context, providerRoutes: WeakMap<IncomingMessage, string>): string {
  const provider = providerRoutes.get(ctx.req);
  if (provider) return provider;
  const routes = ((ctx as Context & { matched?: RouterLayer[] }).matched ?? []).filter(
    (layer): layer is RouterLayer & { path: string } => layer.methods.length > 0 && typeof layer.path === 'string',
  );
  return (routes.findLast((layer) => layer.methods.includes(ctx.method)) ?? routes.at(-1))?.path ?? 'other';
}

/** Request duration histogram and in-flight gauge; sits outside the error handler, so it sees the final status. */
export function httpMetrics(metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const end = metrics.httpDuration.startTimer();
    metrics.httpInFlight.inc();
    let status: number | undefined;
    try {
      await next();
    } catch (error) {
      status = (error as { status?: number })?.status ?? 500;
      throw error;
    } finally {
      metrics.httpInFlight.dec();
      status ??= ctx.respond === false ? ctx.res.statusCode : ctx.status;
      end({
        method: METHODS.has(ctx.method) ? ctx.method : 'other',
        route: routeLabel(ctx, metrics.providerRoutes),
        status_class: `${Math.floor(status / 100)}xx`,
      });
    }
  };
}
