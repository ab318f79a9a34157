import { startTestServer, type TestServer } from '../support/server.js';
import { registerAdminClient } from '../support/api.js';

/** RFC 6749 §5.1 (success) and §5.2 (errors): token endpoint answers are never cached, by HTTP/1.1 or 1.0 caches. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.destroy());

const tokenRequest = (body: string, authorization?: string) =>
  fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body,
  });

test('the token endpoint answers with Cache-Control: no-store and Pragma: no-cache, on success and on every error', async () => {
  const client = await registerAdminClient(server);
  const basic = (secret: string) => `Basic ${Buffer.from(`${client.client_id}:${secret}`).toString('base64')}`;
  const answers = [
    await tokenRequest('grant_type=client_credentials&scope=admin', basic(client.client_secret!)),
    await tokenRequest('grant_type=client_credentials&scope=admin', basic('wrong-secret')),
    await tokenRequest('grant_type=unknown_grant', basic(client.client_secret!)),
    await tokenRequest('grant_type=client_credentials'),
  ];
  expect(answers.map((response) => response.status)).toEqual([200, 401, 400, 400]);
  for (const response of answers) {
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
  }
  // Not on answers meant to be cached.
  expect((await fetch(`${server.url}/jwks`)).headers.get('pragma')).toBeNull();
});
