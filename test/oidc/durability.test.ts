import * as jose from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { authorize, createUser, introspect, postForm, registerClient } from '../support/flow.js';
import { rotateSigningKeys } from '../../src/oidc/signing-keys.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

test('stop the app, flush Redis, start again: refresh tokens, access tokens, grants and clients survive', async () => {
  const user = await createUser(server);
  const client = await registerClient(server);
  const { tokens } = await authorize(server, client, user);

  await server.stop();
  await server.flushRedis();
  await server.start();

  // The access token was written through to Postgres: still valid after the flush.
  expect(await introspect(server, client, tokens.access_token)).toMatchObject({ active: true, sub: user.id });
  const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
  expect(refreshed.status).toBe(200);
  expect(await introspect(server, client, refreshed.body.access_token)).toMatchObject({ active: true, sub: user.id });
  // And a new login works too.
  const again = await authorize(server, client, user);
  expect(again.tokens.access_token).toBeTruthy();
});

test('signing key rotation: new keys sign after a restart, old tokens still verify during the overlap', async () => {
  const user = await createUser(server);
  const client = await registerClient(server);
  const before = await authorize(server, client, user);
  const oldKid = jose.decodeProtectedHeader(before.tokens.id_token!).kid;

  const newKids = await rotateSigningKeys(server.context.queries.signingKeys, server.context.keyring, 3600);
  await server.stop();
  await server.start();

  const jwks = (await fetch(`${server.url}/jwks`).then((r) => r.json())) as { keys: Array<{ kid: string; d?: string }> };
  expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([...newKids, oldKid]));
  expect(jwks.keys.every((k) => k.d === undefined)).toBe(true); // public halves only

  const after = await authorize(server, client, user);
  const newKid = jose.decodeProtectedHeader(after.tokens.id_token!).kid;
  expect(newKids).toContain(newKid);
  expect(newKid).not.toBe(oldKid);

  const keySet = jose.createLocalJWKSet(jwks as jose.JSONWebKeySet);
  await expect(jose.jwtVerify(before.tokens.id_token!, keySet, { issuer: server.url, audience: client.client_id })).resolves.toBeTruthy();
  await expect(jose.jwtVerify(after.tokens.id_token!, keySet, { issuer: server.url, audience: client.client_id })).resolves.toBeTruthy();
});
