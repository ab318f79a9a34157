import { startTestServer, type TestServer } from '../support/server.js';

/**
 * What no route answers is still `{ error, error_description }` JSON (CONTRACT.md, Errors): a known path with
 * the wrong method is a 405 with `Allow`, an unknown path a 404 `not_found` (a page when the client prefers HTML).
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.destroy());

async function call(method: string, path: string, accept = 'application/json') {
  const response = await fetch(`${server.url}${path}`, { method, headers: { accept }, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, allow: response.headers.get('allow'), type: response.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as { error: string; error_description: string } };
}

describe('a provider route with the wrong method is a 405 with Allow', () => {
  test.each([
    ['GET', '/token', 'POST, OPTIONS'],
    ['GET', '/token/introspection', 'POST, OPTIONS'],
    ['GET', '/token/revocation', 'POST, OPTIONS'],
    ['PUT', '/token/', 'POST, OPTIONS'],
    ['GET', '/request', 'POST, OPTIONS'],
    ['POST', '/jwks', 'GET, HEAD, OPTIONS'],
    ['POST', '/.well-known/openid-configuration', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/me', 'GET, HEAD, OPTIONS, POST'],
    ['GET', '/reg', 'POST'],
    ['PATCH', '/reg/some-client', 'GET, HEAD, PUT, DELETE'],
    ['GET', '/session/end/confirm', 'POST'],
  ])('%s %s', async (method, path, allow) => {
    const response = await call(method, path);
    expect({ status: response.status, allow: response.allow }).toEqual({ status: 405, allow });
    expect(response.type).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining(`${method} is not allowed`) });
  });

  test.each(['/auth', '/session/end'])('POST %s says POST is deliberately not enabled there', async (path) => {
    const response = await call('POST', path);
    expect({ status: response.status, allow: response.allow }).toEqual({ status: 405, allow: 'GET, HEAD' });
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('enableHttpPostMethods') });
  });

  test.each([
    ['POST', '/healthz', ['GET', 'HEAD', 'OPTIONS']],
    ['PUT', '/admin/users', ['GET', 'HEAD', 'OPTIONS', 'POST']],
    ['DELETE', '/admin/clients', ['GET', 'HEAD', 'OPTIONS', 'POST']],
  ])('a route of ours (%s %s) answers the same way', async (method, path, allow) => {
    const response = await call(method, path);
    expect({ status: response.status, allow: response.allow?.split(/,\s*/).sort() }).toEqual({ status: 405, allow });
    expect(response.type).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining(`${method} is not allowed`) });
  });

  test('OPTIONS on a route of ours is a 204 with Allow', async () => {
    const response = await call('OPTIONS', '/healthz');
    expect({ status: response.status, allow: response.allow?.split(/,\s*/).sort() }).toEqual({ status: 204, allow: ['GET', 'HEAD', 'OPTIONS'] });
  });

  test('the right methods still work: a CORS preflight at /token, GET /jwks, GET /healthz', async () => {
    const preflight = await fetch(`${server.url}/token`, { method: 'OPTIONS', headers: { origin: 'https://spa.example', 'access-control-request-method': 'POST' } });
    expect({ status: preflight.status, methods: preflight.headers.get('access-control-allow-methods') }).toEqual({ status: 204, methods: 'POST' });
    expect((await call('GET', '/jwks')).status).toBe(200);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  test('a plain OPTIONS lists the methods in Allow', async () => {
    const response = await call('OPTIONS', '/token');
    expect({ status: response.status, allow: response.allow }).toEqual({ status: 204, allow: 'POST, OPTIONS' });
  });
});

describe('an unknown path is a 404 not_found', () => {
  test.each([
    ['GET', '/no-such-path'],
    ['POST', '/no-such-path'],
    ['GET', '/token/nothing-here'],
    ['GET', '/interaction/some-uid/nothing-here'],
  ])('%s %s', async (method, path) => {
    const response = await call(method, path);
    expect(response.status).toBe(404);
    expect(response.type).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ error: 'not_found', error_description: `no route ${method} ${path}` });
  });

  test('a browser gets an HTML page', async () => {
    const response = await call('GET', '/no-such-path', 'text/html,application/xhtml+xml');
    expect(response.status).toBe(404);
    expect(response.type).toMatch(/^text\/html/);
    expect(response.text).toContain('not_found');
  });
});
