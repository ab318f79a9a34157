import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { buildOpenApiDocument } from './document.js';

/** Long enough to spare repeated fetches by tooling, short enough that a deploy shows up soon. */
const MAX_AGE_SECONDS = 300;

/** GET /openapi.json (no authentication): the OpenAPI 3.1 document of /admin, /account and /integrations. */
export function openApiRoutes(issuer: string): Router {
  const router = createRouter();
  // Built on first use, then kept: the document depends on nothing but the issuer.
  let cached: { body: string; etag: string } | undefined;
  const load = () => {
    if (!cached) {
      const body = JSON.stringify(buildOpenApiDocument(issuer));
      cached = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    }
    return cached;
  };

  router.get('/openapi.json', (ctx) => {
    const { body, etag } = load();
    ctx.set('Cache-Control', `public, max-age=${MAX_AGE_SECONDS}`);
    // A public document: let API tooling on other origins (Swagger UI, Postman web) read it.
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.etag = etag;
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'application/json';
    ctx.body = body;
  });
  return router;
}
