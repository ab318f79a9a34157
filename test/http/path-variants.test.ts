import { operations } from '../../src/openapi/operations.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * No spelling of a protected path reaches its handler without a token. @koa/router matched routes
 * case-insensitively but a prefixed router.use() (where the bearer check sits) case-sensitively, so
 * `GET /ADMIN/users` answered 200 with every user, and `POST /ADMIN/clients` created an admin client
 * (src/http/router.ts). Every documented operation that needs a bearer token is tried in several spellings.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.destroy());

const protectedOperations = operations.filter((op) => !op.noBearer);
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'default');
const upperFirstSegment = (path: string) => path.replace(/^\/([a-z]+)/, (_, segment: string) => `/${segment.toUpperCase()}`);
const capitalized = (path: string) => path.replace(/\/([a-z])/g, (_, letter: string) => `/${letter.toUpperCase()}`);
const variants = (path: string) => [path, upperFirstSegment(path), capitalized(path), `${path}/`, path.toUpperCase()];

test('the operations list covers the admin, account and integrations APIs', () => {
  const prefixes = new Set(protectedOperations.map((op) => op.path.split('/')[1]));
  expect([...prefixes].sort()).toEqual(['account', 'admin', 'integrations']);
  expect(protectedOperations.length).toBeGreaterThan(30);
});

test('no spelling of a protected path answers without a bearer token', async () => {
  const reached: string[] = [];
  for (const op of protectedOperations) {
    for (const path of variants(concrete(op.path))) {
      const response = await fetch(`${server.url}${path}`, {
        method: op.method.toUpperCase(),
        headers: { 'content-type': 'application/json' },
        body: ['post', 'put', 'patch'].includes(op.method) ? '{}' : undefined,
        signal: AbortSignal.timeout(5_000),
      }).catch((error: Error) => ({ status: `no answer (${error.name})` }));
      // 401 (the bearer check) or 404 (no such route in that spelling); anything else reached a handler.
      if (!([401, 404] as Array<number | string>).includes(response.status)) reached.push(`${op.method.toUpperCase()} ${path} → ${response.status}`);
    }
  }
  expect(reached).toEqual([]);
});

test('a path spelled in another case is not a route of ours', async () => {
  const response = await fetch(`${server.url}/ADMIN/users`);
  expect(response.status).toBe(404);
  const lower = await fetch(`${server.url}/admin/users`);
  expect(lower.status).toBe(401);
});
