import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { SignJWT } from 'jose';
import { createLogger } from '../../src/logger.js';
import { sha256 } from '../../src/crypto/secrets.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { authorize, createUser, postForm, REDIRECT_URI } from '../support/flow.js';

/**
 * RFC 7592 updates that change what the client's secret is for (probe findings 1 and 9). Like the admin PATCH
 * (src/clients/admin-service.ts): a client that comes to need its secret as an HMAC key while only its hash is kept
 * gets a new secret, returned once and stored encrypted (the hash is never the key); a client that stops needing
 * a secret loses it, so switching back issues a new one instead of reviving the old.
 */
let server: TestServer;
let admin: ReturnType<typeof api>;
const logLines: string[] = [];

beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  // The most verbose level, so every line the code can write is seen.
  server = await startTestServer({ logger: createLogger('silly', { stream }), config: { logLevel: 'silly' } });
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const metadata = { client_name: 'Self-registered', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
/** What a GET answers that a PUT must not send back (RFC 7592 §2.2). */
const READ_ONLY = ['registration_access_token', 'registration_client_uri', 'client_secret_expires_at', 'client_id_issued_at'];
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A self-registered client and an RFC 7592 handle on it that follows the rotating registration access token. */
async function register(extra: Record<string, unknown> = {}) {
  const iat = await admin.post('/admin/initial-access-tokens', { expires_in: 600 });
  expect(iat.status).toBe(201);
  const registered = await api(server, iat.body.initial_access_token).post('/reg', { ...metadata, ...extra });
  expect(registered.status).toBe(201);
  const { client_id, client_secret, registration_client_uri } = registered.body as { client_id: string; client_secret?: string; registration_client_uri: string };
  const path = new URL(registration_client_uri).pathname;
  let token: string = registered.body.registration_access_token;
  const read = async () => {
    const response = await api(server, token).get(path);
    expect(response.status).toBe(200);
    return response.body as Record<string, unknown>;
  };
  /** GET → change → PUT, the way a client edits its registration. */
  const update = async (changes: Record<string, unknown>) => {
    const current = await read();
    for (const key of READ_ONLY) delete current[key];
    const response = await api(server, token).put(path, { ...current, ...changes });
    if (response.body?.registration_access_token) token = response.body.registration_access_token;
    return response;
  };
  return { client_id, client_secret, read, update };
}

const row = async (client_id: string) => server.context.database.db('clients').where({ client_id }).first();

/** An RFC 7523 client assertion for client_secret_jwt, MACed with `key`. */
const assertion = (client_id: string, key: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(client_id)
    .setSubject(client_id)
    .setAudience(`${server.url}/token`)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(key));

const introspectWithJwt = async (client_id: string, key: string) =>
  postForm(server, '/token/introspection', { token: 'not-a-token', client_id, client_assertion_type: JWT_BEARER, client_assertion: await assertion(client_id, key) });

/** The token endpoint authenticates the client before it looks at the grant: 400 invalid_grant means the client got in. */
const refreshWithJwt = async (client_id: string, key: string) =>
  postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', client_id, client_assertion_type: JWT_BEARER, client_assertion: await assertion(client_id, key) });

const introspectWithBasic = (client_id: string, client_secret: string) => postForm(server, '/token/introspection', { token: 'not-a-token' }, { client_id, client_secret });

test('an RFC 7592 switch to client_secret_jwt issues a new secret, once, stored encrypted; neither the old secret nor the stored hash is the key', async () => {
  const client = await register();
  const oldSecret = client.client_secret!;
  const before = await row(client.client_id);
  expect(before.secret_hash).toBe(sha256(oldSecret));
  const storedHashKey = `sha256$${before.secret_hash}`;

  const switched = await client.update({ token_endpoint_auth_method: 'client_secret_jwt' });
  expect(switched.status).toBe(200);
  expect(switched.body.token_endpoint_auth_method).toBe('client_secret_jwt');
  const newSecret = switched.body.client_secret as string;
  expect(newSecret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect(newSecret).not.toBe(oldSecret);
  expect(switched.headers.get('cache-control')).toContain('no-store');

  // The new secret is the HMAC key: at the token endpoint and at introspection.
  expect(await introspectWithJwt(client.client_id, newSecret)).toMatchObject({ status: 200, body: { active: false } });
  expect(await refreshWithJwt(client.client_id, newSecret)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  // Neither the old secret nor the hash the table held authenticates.
  for (const key of [oldSecret, storedHashKey]) {
    expect(await introspectWithJwt(client.client_id, key)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await refreshWithJwt(client.client_id, key)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  }

  // Stored encrypted, no hash, and no plaintext secret anywhere in the row.
  const after = await row(client.client_id);
  expect(after.secret_encrypted).toBeTruthy();
  expect(after.secret_hash).toBeNull();
  expect(JSON.stringify(after)).not.toContain(newSecret);
  expect(JSON.stringify(after)).not.toContain(oldSecret);

  // Shown once: neither the RFC 7592 read nor an unchanged update (GET → PUT round trip) returns it again, and the
  // round trip keeps the secret.
  expect((await client.read()).client_secret).toBeUndefined();
  const echoed = await client.update({});
  expect(echoed.status).toBe(200);
  expect(echoed.body.client_secret).toBeUndefined();
  expect((await introspectWithJwt(client.client_id, newSecret)).status).toBe(200);
  expect((await admin.get(`/admin/clients/${client.client_id}`)).body.client_secret).toBeUndefined();

  // An update may repeat the real secret (RFC 7592 §2.2), and it stays the same one.
  const repeated = await client.update({ client_secret: newSecret, client_name: 'Renamed' });
  expect(repeated.status).toBe(200);
  expect(repeated.body.client_secret).toBeUndefined();
  expect((await introspectWithJwt(client.client_id, newSecret)).status).toBe(200);

  // Back to client_secret_basic: the key is kept (hashed now), no new secret needed.
  const basic = await client.update({ token_endpoint_auth_method: 'client_secret_basic' });
  expect(basic.status).toBe(200);
  expect(basic.body.client_secret).toBeUndefined();
  expect(await row(client.client_id)).toMatchObject({ secret_hash: sha256(newSecret), secret_encrypted: null });
  expect((await introspectWithBasic(client.client_id, newSecret)).status).toBe(200);
  expect((await introspectWithBasic(client.client_id, oldSecret)).status).toBe(401);

  // No log line, at the most verbose level, carries either secret or the hash.
  expect(logLines.length).toBeGreaterThan(0);
  const logs = logLines.join('\n');
  for (const secret of [oldSecret, newSecret, before.secret_hash as string]) expect(logs).not.toContain(secret);
});

test('a client registered with client_secret_jwt is shown its secret at registration only', async () => {
  const client = await register({ token_endpoint_auth_method: 'client_secret_jwt' });
  expect(client.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect((await row(client.client_id)).secret_encrypted).toBeTruthy();
  expect((await client.read()).client_secret).toBeUndefined();
  expect((await introspectWithJwt(client.client_id, client.client_secret!)).status).toBe(200);
  // A change that keeps it a key keeps the secret too, and does not show it.
  const renamed = await client.update({ client_name: 'Renamed' });
  expect(renamed.status).toBe(200);
  expect(renamed.body.client_secret).toBeUndefined();
  expect((await introspectWithJwt(client.client_id, client.client_secret!)).status).toBe(200);
});

test('an RFC 7592 switch to none drops the secret; switching back issues a new one and the original stays dead', async () => {
  const client = await register();
  const original = client.client_secret!;
  expect((await introspectWithBasic(client.client_id, original)).status).toBe(200);

  const publicClient = await client.update({ token_endpoint_auth_method: 'none' });
  expect(publicClient.status).toBe(200);
  expect(publicClient.body.token_endpoint_auth_method).toBe('none');
  expect(publicClient.body.client_secret).toBeUndefined();
  expect(await row(client.client_id)).toMatchObject({ secret_hash: null, secret_encrypted: null });
  // It authenticates without a secret: a whole code + PKCE flow, and the token endpoint with client_id alone.
  const { tokens } = await authorize(server, { client_id: client.client_id }, await createUser(server), 'openid');
  expect(tokens.access_token).toBeTruthy();
  expect(await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' }, { client_id: client.client_id })).toMatchObject({
    status: 400,
    body: { error: 'invalid_grant' },
  });
  expect((await introspectWithBasic(client.client_id, original)).status).toBe(401);

  const confidential = await client.update({ token_endpoint_auth_method: 'client_secret_basic' });
  expect(confidential.status).toBe(200);
  const renewed = confidential.body.client_secret as string;
  expect(renewed).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect(renewed).not.toBe(original);
  expect(await introspectWithBasic(client.client_id, original)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect(await introspectWithBasic(client.client_id, renewed)).toMatchObject({ status: 200, body: { active: false } });
  const stored = await row(client.client_id);
  expect(stored).toMatchObject({ secret_hash: sha256(renewed), secret_encrypted: null });
  expect(JSON.stringify(stored)).not.toContain(renewed);
  expect((await client.read()).client_secret).toBeUndefined();
});

test('an RFC 7592 switch from client_secret_jwt to none drops the ciphertext; switching back issues a new key', async () => {
  const client = await register({ token_endpoint_auth_method: 'client_secret_jwt' });
  const original = client.client_secret!;
  const publicClient = await client.update({ token_endpoint_auth_method: 'none' });
  expect(publicClient.status).toBe(200);
  expect(publicClient.body.client_secret).toBeUndefined();
  expect(await row(client.client_id)).toMatchObject({ secret_hash: null, secret_encrypted: null });

  const back = await client.update({ token_endpoint_auth_method: 'client_secret_jwt' });
  expect(back.status).toBe(200);
  const renewed = back.body.client_secret as string;
  expect(renewed).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  expect(renewed).not.toBe(original);
  expect((await introspectWithJwt(client.client_id, renewed)).status).toBe(200);
  expect(await introspectWithJwt(client.client_id, original)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  expect((await row(client.client_id)).secret_encrypted).toBeTruthy();
});
