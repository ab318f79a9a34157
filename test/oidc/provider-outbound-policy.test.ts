import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { pollUntil, startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { postForm } from '../support/flow.js';
import { freePort } from '../support/dovecot.js';

/**
 * oidc-provider's own outbound HTTP obeys the one outbound policy (src/net/outbound-policy.ts), as mailbox checks and
 * webhook deliveries do. The probe: a client authenticating with private_key_jwt, whose jwks_uri is a small HTTP
 * server on 127.0.0.1, asks for a client_credentials token; the provider must fetch that JWKS to check the assertion.
 * The app servers listen on 127.0.0.1; "public" ones say they are https://auth.example.test.
 *
 * Like every test file, this one runs in a Jest environment that has Node's undici global dispatcher
 * (test/support/undici-environment.js, jest.config.js): Jest's plain node one lacks it, and there neither
 * oidc-provider's SSRF guard nor ours can be built.
 */

const PUBLIC_ISSUER = 'https://auth.example.test';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface JwksServer {
  url: string;
  /** TCP connections accepted, connections closed since, HTTP requests received. */
  counts(): { connections: number; closed: number; requests: number };
  close(): Promise<void>;
}

async function startJwksServer(jwks: { keys: jose.JWK[] }): Promise<JwksServer> {
  let connections = 0;
  let closed = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => {}); // a reset by the refusing side
    socket.on('close', () => {
      closed += 1;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    counts: () => ({ connections, closed, requests }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let keys: jose.GenerateKeyPairResult;
let jwks: JwksServer;
const kid = 'outbound-policy-probe';

beforeAll(async () => {
  keys = await jose.generateKeyPair('ES256');
  jwks = await startJwksServer({ keys: [{ ...(await jose.exportJWK(keys.publicKey)), kid, alg: 'ES256', use: 'sig' }] });
});
afterAll(async () => jwks?.close());

/** A client_credentials client authenticating with private_key_jwt against `jwksUri`, made through the admin API. */
async function keyClient(server: TestServer, jwksUri: string): Promise<string> {
  const admin = api(server, await adminToken(server));
  const created = await admin.post('/admin/clients', {
    client_name: 'Key-authenticated service',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: jwksUri,
  });
  expect({ status: created.status, body: created.body }).toMatchObject({ status: 201, body: { client_id: expect.any(String) } });
  expect(created.body.client_secret).toBeUndefined();
  return created.body.client_id as string;
}

/** client_credentials with a fresh client assertion (RFC 7523 §2.2) signed by the key the JWKS server publishes. */
async function tokenWithAssertion(server: TestServer, clientId: string) {
  const assertion = await new jose.SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(server.context.config.issuer)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(keys.privateKey);
  return postForm(server, '/token', { grant_type: 'client_credentials', client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion });
}

/** The JWKS server's counts after this call settled (the accept and the reset of a refused socket may trail it). */
async function countsDuring(call: () => Promise<unknown>) {
  const before = jwks.counts();
  await call();
  const after = await pollUntil(async () => jwks.counts(), (c) => c.connections > before.connections && c.closed === c.connections, 10_000);
  return { connections: after.connections - before.connections, requests: after.requests - before.requests, allClosed: after.closed === after.connections };
}

const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

/** A key client's token request is refused, and the JWKS server saw one connection, destroyed before any request. */
async function expectRefusedBeforeAnyRequest(server: TestServer): Promise<void> {
  const clientId = await keyClient(server, jwks.url);
  let answer: Awaited<ReturnType<typeof tokenWithAssertion>> | undefined;
  const seen = await countsDuring(async () => {
    answer = await tokenWithAssertion(server, clientId);
  });
  expect({ status: answer!.status, body: answer!.body }).toEqual(REFUSED);
  // The connection was made (the check is on the connected socket's address) and destroyed: no HTTP request.
  expect(seen).toEqual({ connections: 1, requests: 0, allClosed: true });
}

/** A key client gets its token, after exactly one request to the JWKS server. */
async function expectServed(server: TestServer): Promise<void> {
  const clientId = await keyClient(server, jwks.url);
  const before = jwks.counts().requests;
  const answer = await tokenWithAssertion(server, clientId);
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200, body: { access_token: expect.any(String), token_type: 'Bearer' } });
  expect(jwks.counts().requests - before).toBe(1);
}

describe('a public issuer without an allow list', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { issuer: PUBLIC_ISSUER } });
  });
  afterAll(async () => server?.destroy());

  test('the loopback jwks_uri is refused: the socket is destroyed once connected, before any request; a clean 401 invalid_client', async () => {
    expect(server.context.config.issuer).toBe(PUBLIC_ISSUER);
    await expectRefusedBeforeAnyRequest(server);
  });

  test('the answer is the one an unreachable JWKS gets (a closed port): nothing tells a special-use address apart', async () => {
    const closed = await tokenWithAssertion(server, await keyClient(server, `http://127.0.0.1:${await freePort()}/jwks.json`));
    const refused = await tokenWithAssertion(server, await keyClient(server, jwks.url));
    expect({ status: closed.status, body: closed.body }).toEqual(REFUSED);
    expect({ status: refused.status, body: refused.body }).toEqual({ status: closed.status, body: closed.body });
  });
});

describe('a public issuer with OUTBOUND_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { issuer: PUBLIC_ISSUER, outbound: { allowPrivateNetworks: ['127.0.0.0/8'] } } });
  });
  afterAll(async () => server?.destroy());

  test('the internal jwks_uri is fetched and the client gets its token', async () => {
    await expectServed(server);
  });
});

describe('an issuer on loopback', () => {
  test('with NODE_ENV=production: refused like any special-use address (loopback only through the allow list)', async () => {
    const server = await startTestServer({ config: { nodeEnv: 'production' } });
    try {
      expect(server.context.config).toMatchObject({ nodeEnv: 'production', issuer: server.url });
      await expectRefusedBeforeAnyRequest(server);
    } finally {
      await server.destroy();
    }
  });

  test('outside production (development, tests): loopback is allowed and the client gets its token', async () => {
    const server = await startTestServer();
    try {
      expect(server.context.config.nodeEnv).not.toBe('production');
      await expectServed(server);
    } finally {
      await server.destroy();
    }
  });
});
