import http from 'node:http';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerAdminClient } from '../support/api.js';
import { REDIRECT_URI } from '../support/flow.js';

/**
 * Every URL the provider builds comes from ISSUER, never from the request's Host or X-Forwarded-Host /
 * X-Forwarded-Proto (Host header injection: discovery or a registration answer pointing clients at another
 * origin). With TRUST_PROXY on, the forwarded headers still decide the client IP, not the URLs.
 */

/** fetch() will not send a forged Host header: plain node:http does. */
function rawRequest(server: TestServer, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers: { accept: 'application/json', ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const FORGED = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };

/** Every string in a JSON value that looks like a URL. */
const urlsIn = (value: unknown): string[] =>
  typeof value === 'string' ? (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : []) : value && typeof value === 'object' ? Object.values(value).flatMap(urlsIn) : [];

describe.each([
  ['proxy headers not trusted', false, ''],
  ['TRUST_PROXY on', true, ''],
  // A proxy that serves the issuer under a path and strips it: the provider still answers at the root.
  ['TRUST_PROXY on, ISSUER on another origin with a path prefix', true, 'https://id.example.com/oauth'],
])('%s', (_name, trustProxy, publicIssuer) => {
  let server: TestServer;
  let issuer: string;
  beforeAll(async () => {
    server = await startTestServer({ config: { trustProxy, ...(publicIssuer ? { issuer: publicIssuer } : {}) } });
    issuer = server.context.config.issuer;
  });
  afterAll(async () => server?.destroy());

  test.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])('%s with a forged Host names only issuer URLs', async (path) => {
    const response = await rawRequest(server, path, FORGED);
    expect(response.status).toBe(200);
    const metadata = JSON.parse(response.text) as Record<string, unknown>;
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.token_endpoint).toBe(`${issuer}/token`);
    const urls = urlsIn(metadata);
    expect(urls.length).toBeGreaterThan(8);
    expect(urls.filter((url) => url !== issuer && !url.startsWith(`${issuer}/`))).toEqual([]);
    expect(response.text).not.toContain('evil.example');
  });

  test('dynamic registration with a forged Host returns an issuer-based registration_client_uri', async () => {
    const admin = api(server, await adminToken(server));
    const token = (await admin.post('/admin/initial-access-tokens', { expires_in: 600 })).body.initial_access_token as string;
    const body = JSON.stringify({ client_name: 'Forged host', redirect_uris: [REDIRECT_URI] });
    const response = await rawRequest(server, '/reg', { ...FORGED, authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body);
    expect(response.status).toBe(201);
    const registered = JSON.parse(response.text) as { client_id: string; registration_client_uri: string };
    expect(registered.registration_client_uri).toBe(`${issuer}/reg/${registered.client_id}`);
    expect(response.text).not.toContain('evil.example');
  });

  test('the logout confirmation form posts to the issuer, whatever the Host', async () => {
    const response = await rawRequest(server, '/session/end', { ...FORGED, accept: 'text/html' });
    expect(response.status).toBe(200);
    expect(response.text).toContain(`action="${issuer}/session/end/confirm"`);
    expect(response.text).not.toContain('evil.example');
  });

  test('the client IP still follows X-Forwarded-For exactly when proxy headers are trusted', async () => {
    const client = await registerAdminClient(server);
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const headers = { ...FORGED, 'x-forwarded-for': '203.0.113.7', authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' };
    expect((await rawRequest(server, '/token', headers, 'grant_type=client_credentials&scope=admin')).status).toBe(200);
    const admin = api(server, await adminToken(server));
    const events = (await admin.get(`/admin/audit?type=OAuthTokenIssue&client_id=${client.client_id}`)).body.items as Array<{ ip: string }>;
    expect(events.map((event) => event.ip)).toEqual([trustProxy ? '203.0.113.7' : '127.0.0.1']);
  });
});

describe('routes that check the URL the client called', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.destroy());

  // RFC 9449 §4.3: `htu` is the URL the client called. A client reaching the server under another name (an
  // internal service name) signs that URL; only the answers that publish URLs are pinned to ISSUER.
  test('a DPoP proof for the host name the client called is accepted', async () => {
    const { SignJWT, exportJWK, generateKeyPair } = await import('jose');
    const { randomUUID } = await import('node:crypto');
    const client = await registerAdminClient(server);
    const { port } = new URL(server.url);
    const alias = `oauth-hub.internal:${port}`;
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ htm: 'POST', htu: `http://${alias}/token`, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
    const response = await rawRequest(
      server,
      '/token',
      { host: alias, dpop: proof, authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      'grant_type=client_credentials&scope=admin',
    );
    expect({ status: response.status, body: JSON.parse(response.text) }).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
  });
});
