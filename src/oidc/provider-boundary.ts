import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { Context, Next } from 'koa';
import { renderError } from './pages.js';
import { isStoreUnavailable } from '../db/unavailable.js';
import { temporarilyUnavailable } from './store-outage.js';

const GET = ['GET', 'HEAD'];
const GET_CORS = [...GET, 'OPTIONS'];
const POST_CORS = ['POST', 'OPTIONS'];

/**
 * The methods each provider route answers, as oidc-provider registers them for the features we enable
 * (oidc-provider: lib/helpers/initialize_app.js; its router adds HEAD to every GET). `/auth` and
 * `/session/end` take GET only: oidc-provider 9 leaves POST there off (`enableHttpPostMethods`), and so do we.
 */
const ROUTE_METHODS: ReadonlyArray<{ route: string; suffix?: string; methods: string[]; postOff?: true }> = [
  { route: 'authorization', methods: GET, postOff: true },
  { route: 'authorization', suffix: '/:uid', methods: GET },
  { route: 'userinfo', methods: [...GET_CORS, 'POST'] },
  { route: 'token', methods: POST_CORS },
  { route: 'introspection', methods: POST_CORS },
  { route: 'revocation', methods: POST_CORS },
  { route: 'pushed_authorization_request', methods: POST_CORS },
  { route: 'jwks', methods: GET_CORS },
  { route: 'registration', methods: ['POST'] },
  { route: 'registration', suffix: '/:clientId', methods: ['GET', 'HEAD', 'PUT', 'DELETE'] },
  { route: 'end_session', methods: GET, postOff: true },
  { route: 'end_session', suffix: '/confirm', methods: ['POST'] },
  { route: 'end_session', suffix: '/success', methods: GET },
];
const DISCOVERY = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];

interface KnownRoute {
  pattern: RegExp;
  methods: string[];
  postOff?: true;
}

/** Path patterns as the provider's router matches them: case-insensitive, one optional trailing slash. */
function knownRoutes(provider: Provider): KnownRoute[] {
  const pattern = (path: string) => new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/:[^/]+/g, '/[^/]+')}/?$`, 'i');
  return [
    // The provider is mounted at the root (app.ts): its paths without the issuer's path prefix.
    ...ROUTE_METHODS.map(({ route, suffix = '', methods, postOff }) => ({ pattern: pattern(provider.pathFor(route, { mountPath: '' }) + suffix), methods, ...(postOff ? { postOff } : {}) })),
    ...DISCOVERY.map((path) => ({ pattern: pattern(path), methods: GET_CORS })),
  ];
}

type ErrorOut = { error: string; error_description: string };

const render = (ctx: Context, out: ErrorOut, error: Error) => renderError!(ctx as unknown as KoaContextWithOIDC, out, error);

/** No provider route took the request: 405 with `Allow` for a known path, otherwise 404 (JSON, or a page for a browser). */
async function answerUnmatched(ctx: Context, routes: KnownRoute[]): Promise<void> {
  const known = routes.find((route) => route.pattern.test(ctx.path));
  if (!known) {
    ctx.status = 404;
    await render(ctx, { error: 'not_found', error_description: `no route ${ctx.method} ${ctx.path}` }, new Error('not found'));
    return;
  }
  ctx.set('Allow', known.methods.join(', '));
  // A plain OPTIONS (not a CORS preflight, which the provider answers): RFC 9110 §9.3.7, the methods in `Allow`.
  if (known.methods.includes(ctx.method)) {
    ctx.status = 204;
    return;
  }
  // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
  ctx.status = 405;
  const description =
    known.postOff && ctx.method === 'POST'
      ? `POST is not enabled at ${ctx.path} (oidc-provider's enableHttpPostMethods is off): use GET`
      : `${ctx.method} is not allowed at ${ctx.path}: use ${known.methods.filter((method) => method !== 'HEAD' && method !== 'OPTIONS').join(' or ')}`;
  await render(ctx, { error: 'invalid_request', error_description: description }, new Error('method not allowed'));
}

/**
 * An error that left the provider's own error handlers (its session is saved after them, lib/helpers/
 * initialize_app.js ensureSessionSave) would otherwise be Koa's text/plain answer: render it as the provider
 * renders errors. Anything that is not a deliberate OAuth error stays a 500 `server_error`, logged, never detailed.
 */
async function answerEscaped(provider: Provider, ctx: Context, thrown: unknown): Promise<void> {
  if (ctx.headerSent) throw thrown;
  // A store outage met by one of our own provider hooks (audit settle, grant clean-up) is the 503 the adapter gives.
  const error = isStoreUnavailable(thrown) ? temporarilyUnavailable() : thrown;
  const oauth = error instanceof errors.OIDCProviderError && error.expose;
  if (!oauth) provider.emit('server_error', ctx, error);
  ctx.status = oauth ? error.statusCode : 500;
  const out = oauth ? { error: error.error, error_description: error.error_description ?? error.error } : { error: 'server_error', error_description: 'oops! something went wrong' };
  await render(ctx, out, error as Error);
}

/**
 * The provider's outermost middleware: every answer it gives is `{ error, error_description }` JSON (or an HTML
 * page when the client prefers HTML), including wrong methods, unknown paths and errors raised after its own
 * error handlers ran. https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#renderError
 */
export function installProviderBoundary(provider: Provider): void {
  const routes = knownRoutes(provider);
  provider.use(async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      await answerEscaped(provider, ctx, error);
      return;
    }
    // Every provider route sets a body (or a redirect); a bare 404 means none matched.
    if (ctx.status === 404 && ctx.body == null) await answerUnmatched(ctx, routes);
  });
}
