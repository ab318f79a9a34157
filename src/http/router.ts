import Router, { type RouterOptions } from '@koa/router';

/**
 * Every router of ours: paths match case-sensitively (RFC 3986 §6.2.2.1: the path is case-sensitive).
 * @koa/router matches routes case-insensitively by default but a prefixed `router.use()` case-sensitively, so
 * `GET /ADMIN/users` reached the admin route while skipping the admin router's bearer check
 * (test/http/path-variants.test.ts). With `sensitive` on every layer, both see the same paths.
 */
export const createRouter = (options: RouterOptions = {}): Router => new Router({ ...options, sensitive: true });
