import type { Context, Next } from 'koa';
import { HttpError } from './errors.js';

interface MatchedLayer {
  methods: string[];
}

/**
 * A path of ours asked with a method none of its routes has (POST /healthz, PUT /admin/users): 405 with `Allow`
 * (RFC 9110 §15.5.6). Read from `ctx.matched`, which @koa/router fills with every layer whose path matched while the
 * routers ran, so nothing is matched twice. @koa/router's own allowedMethods() cannot see these: a router runs its
 * middleware (our bearer check) only for a route that matches path and method, so a wrong method never reaches
 * the nested routers' allowedMethods. OPTIONS is answered 204 with `Allow` (RFC 9110 §9.3.7).
 */
export async function methodNotAllowed(ctx: Context, next: Next): Promise<void> {
  const layers = ((ctx as Context & { matched?: MatchedLayer[] }).matched ?? []).filter((layer) => layer.methods.length > 0);
  const allowed = [...new Set(layers.flatMap((layer) => layer.methods))];
  if (!allowed.length || allowed.includes(ctx.method)) return next();
  const allow = [...allowed, 'OPTIONS'].join(', ');
  if (ctx.method === 'OPTIONS') {
    ctx.set('Allow', allow);
    ctx.status = 204;
    return;
  }
  throw new HttpError(405, 'invalid_request', `${ctx.method} is not allowed here; allowed: ${allowed.join(', ')}`, { Allow: allow });
}
