import { startTestServer, type TestServer } from '../support/server.js';
import { Browser } from '../support/browser.js';
import { createUser, introspect, loginAndConsent, pkcePair, postForm, registerClient, REDIRECT_URI } from '../support/flow.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

function authUrl(params: Record<string, string>): string {
  const url = new URL(`${server.url}/auth`);
  url.search = new URLSearchParams({ response_type: 'code', scope: 'openid', state: 'st', ...params }).toString();
  return url.href;
}

const getJson = (url: string) => fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });

async function codeFor(client: { client_id: string }, user: { email: string }) {
  const { verifier, challenge } = await pkcePair();
  const callback = await loginAndConsent(
    new Browser(server.url),
    authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256' }),
    user,
  );
  return { code: callback.searchParams.get('code')!, verifier };
}

describe('redirect URIs are matched exactly (RFC 9700 §4.1.3)', () => {
  test.each([
    ['a suffix', `${REDIRECT_URI}/evil`],
    ['another case', REDIRECT_URI.replace('callback', 'Callback')],
    ['an extra query', `${REDIRECT_URI}?next=https://evil.example`],
    ['another host', 'https://rp.example.com.evil.example/callback'],
  ])('%s is refused with an error and no redirect', async (_name, redirectUri) => {
    const client = await registerClient(server);
    const { challenge } = await pkcePair();
    const response = await getJson(authUrl({ client_id: client.client_id, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.json()).toMatchObject({ error: 'invalid_redirect_uri' });
  });

  test('a missing redirect_uri is refused even with one registered URI', async () => {
    const client = await registerClient(server);
    const { challenge } = await pkcePair();
    const response = await getJson(authUrl({ client_id: client.client_id, code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('PKCE (RFC 9700 §2.1.1)', () => {
  test('a request without code_challenge is refused', async () => {
    const client = await registerClient(server);
    const response = await getJson(authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI }));
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  test('the plain method is refused', async () => {
    const client = await registerClient(server);
    const response = await getJson(authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  test('a downgrade (code issued with a challenge, redeemed without a verifier or with a wrong one) is refused', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const { code, verifier } = await codeFor(client, user);
    const withoutVerifier = await postForm(server, '/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, client);
    expect(withoutVerifier.status).toBe(400);
    expect(withoutVerifier.body.error).toMatch(/invalid_(grant|request)/);
    const wrongVerifier = await postForm(server, '/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: `${verifier.slice(0, -2)}xx` }, client);
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error).toBe('invalid_grant');
  });

  test('a confidential client with require_pkce=false may omit PKCE; a public client may not turn it off', async () => {
    const user = await createUser(server);
    const client = await registerClient(server, { require_pkce: false });
    const callback = await loginAndConsent(new Browser(server.url), authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI }), user);
    const tokens = await postForm(server, '/token', { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI }, client);
    expect(tokens.status).toBe(200);

    const publicClient = await registerClient(server, { token_endpoint_auth_method: 'none', require_pkce: false });
    const response = await getJson(authUrl({ client_id: publicClient.client_id, redirect_uri: REDIRECT_URI }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });
});

describe('authorization codes', () => {
  test('a replayed code is refused and the tokens it produced are revoked', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const { code, verifier } = await codeFor(client, user);
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const first = await postForm(server, '/token', form, client);
    expect(first.status).toBe(200);
    expect((await introspect(server, client, first.body.access_token)).active).toBe(true);

    const replay = await postForm(server, '/token', form, client);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await introspect(server, client, first.body.access_token)).toEqual({ active: false });
    expect(await introspect(server, client, first.body.refresh_token)).toEqual({ active: false });
  });

  test('a code is bound to its client', async () => {
    const user = await createUser(server);
    const client = await registerClient(server);
    const other = await registerClient(server);
    const { code, verifier } = await codeFor(client, user);
    const stolen = await postForm(server, '/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, other);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
  });
});

describe('grant and response types', () => {
  test('response_type=token (implicit) is refused', async () => {
    const client = await registerClient(server);
    const response = await getJson(authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'token' }));
    const location = response.headers.get('location');
    const body = (location ? Object.fromEntries(new URLSearchParams(new URL(location).hash.slice(1) || new URL(location).search)) : await response.json()) as Record<string, string>;
    expect(body.error).toBe('unsupported_response_type');
  });

  test('grant_type=password is refused', async () => {
    const client = await registerClient(server);
    const response = await postForm(server, '/token', { grant_type: 'password', username: 'a', password: 'b' }, client);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('unsupported_grant_type');
  });
});

describe('scopes', () => {
  test('a scope outside the client metadata is invalid_scope', async () => {
    const client = await registerClient(server); // default scope: openid profile email offline_access
    const { challenge } = await pkcePair();
    const response = await getJson(authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI, scope: 'openid account', code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });

  test('admin is never granted through a user flow, even to a client whose metadata lists it', async () => {
    const user = await createUser(server);
    const client = await registerClient(server, { scope: 'openid admin' });
    const { challenge } = await pkcePair();
    const browser = new Browser(server.url);
    const page = await browser.navigate(authUrl({ client_id: client.client_id, redirect_uri: REDIRECT_URI, scope: 'openid admin', code_challenge: challenge, code_challenge_method: 'S256' }), REDIRECT_URI);
    expect(page.url.startsWith(REDIRECT_URI)).toBe(true);
    const back = new URL(page.url);
    expect(back.searchParams.get('error')).toBe('invalid_scope');
    expect(back.searchParams.get('code')).toBeNull();
    void user;
  });

  test('client_credentials grants admin only to clients whose metadata lists it', async () => {
    const admin = await registerClient(server, { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin' });
    const ok = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, admin);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', scope: 'admin', expires_in: 900 });
    expect(ok.body.refresh_token).toBeUndefined();
    expect(await introspect(server, admin, ok.body.access_token)).toMatchObject({ active: true, scope: 'admin', client_id: admin.client_id });

    const plain = await registerClient(server, { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const refused = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, plain);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_scope');
  });

  test('a wrong client secret is invalid_client, in Basic and in the body alike', async () => {
    const client = await registerClient(server, { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] });
    const basic = await postForm(server, '/token', { grant_type: 'client_credentials' }, { client_id: client.client_id, client_secret: 'wrong' });
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe('invalid_client');
    const body = await postForm(server, '/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret! });
    expect(body.status).toBe(200);
  });
});
