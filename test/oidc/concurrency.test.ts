import { startTestServer, type TestServer } from '../support/server.js';
import { Browser } from '../support/browser.js';
import { createUser, introspect, loginAndConsent, pkcePair, postForm, registerClient, REDIRECT_URI } from '../support/flow.js';

let server: TestServer;
let clockOffsetMs = 0;
beforeAll(async () => {
  // The adapter's clock (grace window) is injected; moving it forward needs no waiting.
  server = await startTestServer({ clock: () => Date.now() + clockOffsetMs, config: { refreshTokenReuseGraceSeconds: 10 } });
});
afterAll(async () => {
  await server?.destroy();
});

async function issueTokens(client: { client_id: string; client_secret?: string }) {
  const user = await createUser(server);
  const { verifier, challenge } = await pkcePair();
  const url = new URL(`${server.url}/auth`);
  url.search = new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }).toString();
  const callback = await loginAndConsent(new Browser(server.url), url.href, user);
  return { code: callback.searchParams.get('code')!, verifier };
}

test('20 parallel redemptions of one code: exactly one gets tokens', async () => {
  const client = await registerClient(server);
  const { code, verifier } = await issueTokens(client);
  const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
  const results = await Promise.all(Array.from({ length: 20 }, () => postForm(server, '/token', form, client)));
  const winners = results.filter((r) => r.status === 200);
  expect(winners).toHaveLength(1);
  expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(19);
  expect(winners[0]!.body.access_token).toBeTruthy();
});

describe('refresh token rotation with a grace window', () => {
  test('parallel refreshes of one token inside the window all succeed and the grant survives', async () => {
    clockOffsetMs = 0;
    const client = await registerClient(server);
    const { code, verifier } = await issueTokens(client);
    const tokens = await postForm(server, '/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, client);
    const refresh = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token };
    const results = await Promise.all(Array.from({ length: 5 }, () => postForm(server, '/token', refresh, client)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    // A sequential duplicate inside the window is answered too.
    clockOffsetMs = 5_000;
    const late = await postForm(server, '/token', refresh, client);
    expect(late.status).toBe(200);
    for (const r of [...results, late]) expect((await introspect(server, client, r.body.access_token)).active).toBe(true);
    const next = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: late.body.refresh_token }, client);
    expect(next.status).toBe(200);
  });

  test('reuse after the window is detected: refused, and the whole grant is revoked', async () => {
    clockOffsetMs = 0;
    const client = await registerClient(server);
    const { code, verifier } = await issueTokens(client);
    const tokens = await postForm(server, '/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, client);
    const rotated = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, client);
    expect(rotated.status).toBe(200);

    clockOffsetMs = 11_000;
    const reuse = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token }, client);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    expect(await introspect(server, client, rotated.body.access_token)).toEqual({ active: false });
    const afterRevoke = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token }, client);
    expect(afterRevoke.status).toBe(400);
    expect(afterRevoke.body.error).toBe('invalid_grant');
  });
});
