import type Router from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from './errors.js';

/**
 * The methods our routers answer at this path, when none answers the request's method. @koa/router's own
 * allowedMethods() sees nothing here: a router runs its middleware (our bearer check) only for a route that
 * matches path and method, so a wrong method never reaches the nested routers' allowedMethods.
 */
export function allowedMethodsAt(routers: Router[], ctx: Pick<Context, 'path' | 'method'>): string[] {
  const allowed = new Set<string>();
  for (const router of routers) {
    const match = router.match(ctx.path, ctx.method);
    if (match.route) return [];
    for (const layer of match.path) for (const method of layer.methods) allowed.add(method);
  }
  return [...allowed];
}

/** RFC 9110 §15.5.6: 405 with the methods the resource has, in `Allow`. */
export const methodNotAllowed = (method: string, allowed: string[]) =>
  new HttpError(405, 'invalid_request', `${method} is not allowed here; allowed: ${allowed.join(', ')}`, { Allow: allowed.join(', ') });
