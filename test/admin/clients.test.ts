import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, clientCredentialsToken, registerIntrospector } from '../support/api.js';
import { authorize, createUser, introspect, postForm, REDIRECT_URI } from '../support/flow.js';

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: { client_id: string; client_secret?: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
});
afterAll(async () => server.destroy());

const clientCount = async () => Number((await server.context.database.db('clients').count({ n: '*' }).first())!.n);
const thirdParty = (extra: Record<string, unknown> = {}) => ({
  client_name: 'Third-party app',
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid email profile offline_access',
  ...extra,
});

describe('admin authentication', () => {
  test('no token: 401 with a Bearer challenge and no error code', async () => {
    const response = await api(server).get('/admin/clients');
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_token');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
  });

  test('unknown token: 401 invalid_token', async () => {
    const response = await api(server, 'not-a-token-of-this-server').get('/admin/clients');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  test('a valid token without the admin scope: 403 insufficient_scope', async () => {
    const reader = await server.context.clients.register({ client_name: 'Worker', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'integrations:token' });
    const token = await clientCredentialsToken(server, reader, 'integrations:token');
    const response = await api(server, token).get('/admin/clients');
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('insufficient_scope');
    expect(response.headers.get('www-authenticate')).toContain('scope="admin"');
  });

  test('an admin token stops counting once the admin scope is taken from its client', async () => {
    const created = await admin.post('/admin/clients', { client_name: 'Ops', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin' });
    const token = await clientCredentialsToken(server, created.body, 'admin');
    expect((await api(server, token).get('/admin/workspaces')).status).toBe(200);
    expect((await admin.patch(`/admin/clients/${created.body.client_id}`, { token_endpoint_auth_method: 'none' })).status).toBe(400);
    expect((await admin.patch(`/admin/clients/${created.body.client_id}`, { scope: 'openid' })).status).toBe(200);
    const after = await api(server, token).get('/admin/workspaces');
    expect(after.status).toBe(403);
    expect(after.body.error).toBe('insufficient_scope');
  });

  test('a client may not obtain the admin scope unless its metadata lists it', async () => {
    const other = await server.context.clients.register({ client_name: 'Sneaky', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid' });
    const response = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, other);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_scope');
  });
});

describe('clients', () => {
  test('create returns the secret once; reads never do; the store keeps only a hash', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ client_name: 'Third-party app', workspace_id: 'default', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' });
    // 256 bits of randomness in base64url: 43 characters.
    expect(created.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);

    const read = await admin.get(`/admin/clients/${created.body.client_id}`);
    expect(read.status).toBe(200);
    expect(read.body).not.toHaveProperty('client_secret');
    expect(JSON.stringify(read.body)).not.toContain(created.body.client_secret);
    const list = await admin.get('/admin/clients?limit=1000');
    expect(JSON.stringify(list.body)).not.toContain(created.body.client_secret);

    const row = await server.context.database.db('clients').where({ client_id: created.body.client_id }).first();
    expect(JSON.stringify(row)).not.toContain(created.body.client_secret);
    expect(row.secret_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('a registered client runs the authorization-code + PKCE flow at once', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    const { tokens } = await authorize(server, created.body, await createUser(server), 'openid email offline_access');
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    expect((await introspect(server, introspector, tokens.access_token)).active).toBe(true);
  });

  test('a machine client needs only its grant type and scope: no response types, no redirect URIs', async () => {
    const created = await admin.post('/admin/clients', { client_name: 'Platform backend', grant_types: ['client_credentials'], scope: 'integrations:token' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ grant_types: ['client_credentials'], response_types: [], scope: 'integrations:token' });
    const token = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'integrations:token' }, created.body);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'integrations:token' });
    // A client that redeems codes still gets `code` by default, and so still needs its redirect URIs.
    const browser = await admin.post('/admin/clients', { client_name: 'No redirect', grant_types: ['authorization_code'] });
    expect(browser.status).toBe(400);
    expect(browser.body.error).toBe('invalid_redirect_uri');
  });

  test.each([
    ['http on a public host', { redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri'],
    ['a wildcard', { redirect_uris: ['https://*.example.com/cb'] }, 'invalid_redirect_uri'],
    ['a fragment', { redirect_uris: ['https://app.example.com/cb#x'] }, 'invalid_redirect_uri'],
    ['a custom scheme for a web app', { redirect_uris: ['com.example.app:/cb'] }, 'invalid_redirect_uri'],
    ['an unknown auth method', { token_endpoint_auth_method: 'magic' }, 'invalid_client_metadata'],
    ['implicit', { response_types: ['id_token'] }, 'invalid_client_metadata'],
    ['a client-chosen secret', { client_secret: 'mine' }, 'invalid_client_metadata'],
    ['an unknown workspace', { workspace_id: 'nope' }, 'invalid_client_metadata'],
    ['admin with a browser grant', { scope: 'admin openid' }, 'invalid_client_metadata'],
    ['a bad client_id', { client_id: 'a b' }, 'invalid_client_metadata'],
    ['a non-boolean flag', { first_party: 'yes' }, 'invalid_client_metadata'],
    ['a public admin client', { token_endpoint_auth_method: 'none', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin' }, 'invalid_client_metadata'],
  ])('bad metadata (%s) is a 400 %s and creates nothing', async (_name, extra, code) => {
    const before = await clientCount();
    const response = await admin.post('/admin/clients', thirdParty(extra));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe(code);
    expect(response.body.error_description).toEqual(expect.any(String));
    expect(await clientCount()).toBe(before);
  });

  test('loopback http and native private-use schemes are accepted', async () => {
    const loopback = await admin.post('/admin/clients', thirdParty({ redirect_uris: ['http://127.0.0.1:8080/cb', 'http://localhost/cb'] }));
    expect(loopback.status).toBe(201);
    const native = await admin.post('/admin/clients', thirdParty({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['com.example.app:/oauth2redirect'] }));
    expect(native.status).toBe(201);
    expect(native.body).not.toHaveProperty('client_secret');
  });

  test('malformed JSON is a 400', async () => {
    const response = await admin.post('/admin/clients', '{"client_name":', {});
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  test('a taken client_id is a 409', async () => {
    expect((await admin.post('/admin/clients', thirdParty({ client_id: 'fixed-id' }))).status).toBe(201);
    const again = await admin.post('/admin/clients', thirdParty({ client_id: 'fixed-id' }));
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('client_id_taken');
  });

  test('unknown admin routes and methods are JSON errors, never the provider', async () => {
    for (const response of [await admin.get('/admin/nope'), await api(server).get('/account/nope')]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ error: 'not_found', error_description: expect.any(String) });
    }
    // A wrong method is a 405 with Allow, in the provider's shape (src/http/method-not-allowed.ts).
    const wrongMethod = await admin.put('/admin/clients', {});
    expect({ status: wrongMethod.status, allow: wrongMethod.headers.get('allow')?.split(', ').sort() }).toEqual({ status: 405, allow: ['GET', 'HEAD', 'OPTIONS', 'POST'] });
    expect(wrongMethod.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('PUT is not allowed') });
  });

  test('unknown clients are 404 on every route', async () => {
    for (const response of [
      await admin.get('/admin/clients/missing'),
      await admin.patch('/admin/clients/missing', { client_name: 'x' }),
      await admin.delete('/admin/clients/missing'),
      await admin.post('/admin/clients/missing/secret'),
    ]) {
      expect(response.status).toBe(404);
      expect(response.body.error).toBe('not_found');
    }
  });

  test('update changes metadata; a bad update is a 400 and changes nothing', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    const id = created.body.client_id;
    const updated = await admin.patch(`/admin/clients/${id}`, { client_name: 'Renamed', redirect_uris: ['https://rp.example.com/new'] });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ client_name: 'Renamed', redirect_uris: ['https://rp.example.com/new'] });
    expect(updated.body).not.toHaveProperty('client_secret');

    const bad = await admin.patch(`/admin/clients/${id}`, { client_name: 'Broken', redirect_uris: ['http://evil.example.com/cb'] });
    expect(bad.status).toBe(400);
    expect((await admin.get(`/admin/clients/${id}`)).body).toMatchObject({ client_name: 'Renamed', redirect_uris: ['https://rp.example.com/new'] });
    expect((await admin.patch(`/admin/clients/${id}`, { client_id: 'other' })).status).toBe(400);
  });

  test('rotating the secret: the new one works, the old one does not', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    const id = created.body.client_id;
    const rotated = await admin.post(`/admin/clients/${id}/secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(rotated.body.client_secret).not.toBe(created.body.client_secret);

    const probe = (secret: string) => postForm(server, '/token/introspection', { token: 'x' }, { client_id: id, client_secret: secret });
    expect((await probe(rotated.body.client_secret)).status).toBe(200);
    const old = await probe(created.body.client_secret);
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
  });

  test('a public client has no secret to rotate', async () => {
    const created = await admin.post('/admin/clients', thirdParty({ token_endpoint_auth_method: 'none' }));
    const response = await admin.post(`/admin/clients/${created.body.client_id}/secret`);
    expect(response.status).toBe(400);
  });

  test('a client that needs its secret as an HMAC key keeps it encrypted, not hashed', async () => {
    const created = await admin.post('/admin/clients', thirdParty({ token_endpoint_auth_method: 'client_secret_jwt' }));
    expect(created.status).toBe(201);
    const row = await server.context.database.db('clients').where({ client_id: created.body.client_id }).first();
    expect(row.secret_hash).toBeNull();
    expect(row.secret_encrypted).toMatch(/^v1\./);
    expect(row.secret_encrypted).not.toContain(created.body.client_secret);
    // RFC 7523 client assertion signed with the secret as the HMAC key.
    const key = new TextEncoder().encode(created.body.client_secret);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(created.body.client_id)
      .setSubject(created.body.client_id)
      .setAudience(server.url)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(key);
    const probe = await postForm(server, '/token/introspection', {
      token: 'x',
      client_id: created.body.client_id,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(probe.status).toBe(200);
  });

  test('deleting a client kills its grants and tokens, client_credentials tokens included', async () => {
    const created = await admin.post('/admin/clients', thirdParty({ grant_types: ['authorization_code', 'refresh_token', 'client_credentials'] }));
    const { tokens } = await authorize(server, created.body, await createUser(server), 'openid offline_access');
    const machineToken = await clientCredentialsToken(server, created.body, 'openid');
    expect((await introspect(server, introspector, machineToken)).active).toBe(true);

    const deleted = await admin.delete(`/admin/clients/${created.body.client_id}`);
    expect(deleted.status).toBe(204);
    expect((await admin.get(`/admin/clients/${created.body.client_id}`)).status).toBe(404);
    for (const token of [tokens.access_token, tokens.refresh_token!, machineToken]) {
      expect(await introspect(server, introspector, token)).toEqual({ active: false });
    }
    const grants = await server.context.database.db('oidc_models').where({ model: 'Grant', client_id: created.body.client_id });
    expect(grants).toHaveLength(0);
  });

  test('list pages with a cursor; bad paging input is a 400', async () => {
    for (let i = 0; i < 3; i += 1) await admin.post('/admin/clients', thirdParty());
    const first = await admin.get('/admin/clients?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await admin.get(`/admin/clients?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items[0].client_id > first.body.items[1].client_id).toBe(true);

    let seen = 0;
    let cursor: string | null = null;
    do {
      const pageResponse: { body: { items: unknown[]; next_cursor: string | null } } = await admin.get(`/admin/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen += pageResponse.body.items.length;
      cursor = pageResponse.body.next_cursor;
    } while (cursor);
    expect(seen).toBe(await clientCount());

    expect((await admin.get('/admin/clients?limit=0')).status).toBe(400);
    expect((await admin.get('/admin/clients?limit=1001')).status).toBe(400);
    expect((await admin.get('/admin/clients?cursor=garbage')).status).toBe(400);
  });
});

describe('client metadata fields', () => {
  test('unknown top-level fields are refused on create and update, naming the field; nothing is stored', async () => {
    const before = await clientCount();
    const created = await admin.post('/admin/clients', thirdParty({ foo: 1 }));
    expect(created.status).toBe(400);
    expect(created.body).toEqual({ error: 'invalid_client_metadata', error_description: expect.stringContaining('unknown field "foo"') });
    // RFC 7591 metadata oidc-provider does not understand here is not stored either
    const software = await admin.post('/admin/clients', thirdParty({ software_id: 'x' }));
    expect(software.status).toBe(400);
    expect(software.body.error_description).toContain('software_id');
    expect(await clientCount()).toBe(before);

    const client = await admin.post('/admin/clients', thirdParty());
    const id = client.body.client_id;
    const stored = (await admin.get(`/admin/clients/${id}`)).body;
    const patched = await admin.patch(`/admin/clients/${id}`, { client_name: 'Renamed', bar: { nested: true } });
    expect(patched.status).toBe(400);
    expect(patched.body).toEqual({ error: 'invalid_client_metadata', error_description: expect.stringContaining('bar') });
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(stored);
  });

  test('GET → modify → PATCH works: read-only fields sent back unchanged are ignored, and no secret comes back', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    const id = created.body.client_id;
    const read = (await admin.get(`/admin/clients/${id}`)).body;
    expect(read).toMatchObject({ client_id: id, created_at: expect.any(String), updated_at: expect.any(String) });
    const patched = await admin.patch(`/admin/clients/${id}`, { ...read, client_name: 'Round trip' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ client_id: id, client_name: 'Round trip', created_at: read.created_at });
    expect(patched.body).not.toHaveProperty('client_secret');
    expect(JSON.stringify(patched.body)).not.toContain(created.body.client_secret);
    // The first read again, after that PATCH: its timestamps are stale now, and that is no reason to refuse it.
    const stale = await admin.patch(`/admin/clients/${id}`, { ...read, client_name: 'Round trip again' });
    expect({ status: stale.status, name: stale.body.client_name, created_at: stale.body.created_at }).toEqual({ status: 200, name: 'Round trip again', created_at: read.created_at });

    // The same for a voice profile client (profile, alexa_vendor_id) and a self-registered one (client_id_issued_at, …).
    const alexa = await admin.post('/admin/clients', { profile: 'alexa', alexa_vendor_id: 'M2ROUNDTRIP' });
    const alexaRead = (await admin.get(`/admin/clients/${alexa.body.client_id}`)).body;
    expect(alexaRead).toMatchObject({ profile: 'alexa', alexa_vendor_id: 'M2ROUNDTRIP' });
    expect((await admin.patch(`/admin/clients/${alexa.body.client_id}`, { ...alexaRead, client_name: 'Skill' })).body).toMatchObject({ client_name: 'Skill', profile: 'alexa' });
    const iat = (await admin.post('/admin/initial-access-tokens', {})).body.initial_access_token;
    const registered = await api(server, iat).post('/reg', { redirect_uris: [REDIRECT_URI], response_types: ['code'] });
    const dynamicRead = (await admin.get(`/admin/clients/${registered.body.client_id}`)).body;
    expect(dynamicRead).toMatchObject({ client_id_issued_at: expect.any(Number), client_secret_expires_at: 0 });
    const dynamicPatched = await admin.patch(`/admin/clients/${registered.body.client_id}`, { ...dynamicRead, client_name: 'Adopted' });
    expect({ status: dynamicPatched.status, name: dynamicPatched.body.client_name }).toEqual({ status: 200, name: 'Adopted' });
  });

  test('a read-only field sent with another value is a 400 naming it, and changes nothing', async () => {
    const created = await admin.post('/admin/clients', thirdParty());
    const id = created.body.client_id;
    const read = (await admin.get(`/admin/clients/${id}`)).body;
    for (const [field, value, reason] of [
      ['client_id', 'other-id', /client_id: is set by the server/],
      ['client_id_issued_at', 1, /client_id_issued_at: is set by the server/],
      ['profile', 'alexa', /profile: is fixed at creation/],
    ] as const) {
      const response = await admin.patch(`/admin/clients/${id}`, { ...read, client_name: 'Changed', [field]: value });
      expect({ field, status: response.status, error: response.body.error }).toEqual({ field, status: 400, error: 'invalid_client_metadata' });
      expect(response.body.error_description).toMatch(reason);
    }
    // A secret is never accepted, even one that is right.
    const secret = await admin.patch(`/admin/clients/${id}`, { client_secret: created.body.client_secret });
    expect(secret.status).toBe(400);
    expect(secret.body.error_description).toMatch(/client_secret: cannot be changed here/);
    expect(JSON.stringify(secret.body)).not.toContain(created.body.client_secret);
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(read);
  });

  test('server-set fields are refused with their own reason', async () => {
    const response = await admin.post('/admin/clients', thirdParty({ registration_access_token: 'x' }));
    expect(response.status).toBe(400);
    expect(response.body.error_description).toMatch(/registration_access_token: .*set by the server/);
    const client = await admin.post('/admin/clients', thirdParty());
    const profile = await admin.patch(`/admin/clients/${client.body.client_id}`, { profile: 'alexa' });
    expect(profile.status).toBe(400);
    expect(profile.body.error_description).toMatch(/profile: .*fixed at creation/);
  });

  test('the contract fields and the RFC 7591 / OIDC metadata the provider understands are accepted and kept', async () => {
    const full = thirdParty({
      client_id: `full-${randomUUID()}`,
      workspace_id: 'default',
      first_party: false,
      require_pkce: true,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      role_map: { admin: 'owner' },
      token_exchange_audiences: ['https://api.example.com'],
      application_type: 'web',
      client_uri: 'https://rp.example.com',
      logo_uri: 'https://rp.example.com/logo.png',
      policy_uri: 'https://rp.example.com/policy',
      tos_uri: 'https://rp.example.com/tos',
      contacts: ['ops@example.com'],
      post_logout_redirect_uris: ['https://rp.example.com/bye'],
      backchannel_logout_uri: 'https://rp.example.com/logout',
      backchannel_logout_session_required: true,
      default_max_age: 3600,
      require_auth_time: true,
      id_token_signed_response_alg: 'ES256',
      subject_type: 'public',
      require_pushed_authorization_requests: false,
      dpop_bound_access_tokens: false,
    });
    const created = await admin.post('/admin/clients', full);
    expect(created.status).toBe(201);
    const { client_secret: _secret, ...expected } = full as Record<string, unknown>;
    expect(created.body).toMatchObject(expected);
    const patched = await admin.patch(`/admin/clients/${created.body.client_id}`, { contacts: null, logo_uri: 'https://rp.example.com/new.png', default_max_age: null });
    expect(patched.status).toBe(200);
    expect(patched.body).not.toHaveProperty('contacts');
    expect(patched.body).not.toHaveProperty('default_max_age');
    expect(patched.body.logo_uri).toBe('https://rp.example.com/new.png');
  });
});

describe('consistent metadata (refused with 400 invalid_client_metadata naming the field; nothing changes)', () => {
  const roleMap = (entries: number) => Object.fromEntries(Array.from({ length: entries }, (_, i) => [`role${i}`, `theirs${i}`]));

  /** A client with every field below set to a good value, and what GET shows of it. */
  async function storedClient() {
    const created = await admin.post(
      '/admin/clients',
      thirdParty({
        first_party: true,
        role_map: { admin: 'owner' },
        token_exchange_audiences: ['https://api.example.com'],
        backchannel_logout_uri: 'https://rp.example.com/logout',
        post_logout_redirect_uris: ['https://rp.example.com/bye'],
      }),
    );
    expect(created.status).toBe(201);
    return { id: created.body.client_id as string, stored: (await admin.get(`/admin/clients/${created.body.client_id}`)).body };
  }

  test.each([
    ['no grant type', { grant_types: [] }, /^grant_types: at least one grant type/, 'invalid_client_metadata'],
    ['no grant type and no response type', { grant_types: [], response_types: [] }, /^grant_types: at least one grant type/, 'invalid_client_metadata'],
    ['an audience that is not a URI', { token_exchange_audiences: ['https://api.example.com', 'not a url'] }, /^token_exchange_audiences\.1: "not a url" is not a resource server identifier: an absolute URI/, 'invalid_client_metadata'],
    ['an audience with a fragment', { token_exchange_audiences: ['https://api.example.com/#x'] }, /^token_exchange_audiences\.0: .*no fragment/, 'invalid_client_metadata'],
    ['an audience in another scheme', { token_exchange_audiences: ['javascript:alert(1)'] }, /^token_exchange_audiences\.0: .*https, http or urn/, 'invalid_client_metadata'],
    ['an audience with credentials', { token_exchange_audiences: ['https://user:pw@api.example.com'] }, /^token_exchange_audiences\.0: .*no credentials/, 'invalid_client_metadata'],
    ['a back-channel logout URI with a fragment', { backchannel_logout_uri: 'https://rp.example.com/logout#frag' }, /^backchannel_logout_uri: must not include a fragment/, 'invalid_client_metadata'],
    ['a post-logout redirect URI with a fragment', { post_logout_redirect_uris: ['https://rp.example.com/bye#frag'] }, /post_logout_redirect_uris must not contain fragments/, 'invalid_client_metadata'],
    ['a redirect URI with a fragment', { redirect_uris: ['https://rp.example.com/cb#frag'] }, /fragment/, 'invalid_redirect_uri'],
    ['a role map of 101 entries', { role_map: roleMap(101) }, /^role_map: at most 100 entries .*not 101/, 'invalid_client_metadata'],
  ])('%s: refused on create and on update', async (_name, change, description, code) => {
    const before = await clientCount();
    const created = await admin.post('/admin/clients', thirdParty({ first_party: true, ...change }));
    expect({ status: created.status, error: created.body.error }).toEqual({ status: 400, error: code });
    expect(created.body.error_description).toMatch(description);
    expect(await clientCount()).toBe(before);

    const { id, stored } = await storedClient();
    const patched = await admin.patch(`/admin/clients/${id}`, { client_name: 'Changed', ...change });
    expect({ status: patched.status, error: patched.body.error }).toEqual({ status: 400, error: code });
    expect(patched.body.error_description).toMatch(description);
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(stored);
  });

  test('response type code without the authorization_code grant is refused on update; with response_types [] the change goes through', async () => {
    const { id, stored } = await storedClient();
    const refused = await admin.patch(`/admin/clients/${id}`, { grant_types: ['client_credentials'] });
    expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 400, error: 'invalid_client_metadata' });
    expect(refused.body.error_description).toMatch(/^response_types with code needs the authorization_code grant type/);
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(stored);

    const machine = await admin.patch(`/admin/clients/${id}`, { grant_types: ['client_credentials'], response_types: [] });
    expect(machine.status).toBe(200);
    expect(machine.body).toMatchObject({ grant_types: ['client_credentials'], response_types: [] });
  });

  test("the probe's sequence: grant_types [] is refused, so a later response_types null leaves the grant types as they were", async () => {
    const { id, stored } = await storedClient();
    expect(stored).toMatchObject({ grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    const emptied = await admin.patch(`/admin/clients/${id}`, { grant_types: [] });
    expect(emptied.status).toBe(400);
    expect((await admin.get(`/admin/clients/${id}`)).body).toEqual(stored);
    expect((await admin.patch(`/admin/clients/${id}`, { response_types: null })).status).toBe(200);
    expect((await admin.get(`/admin/clients/${id}`)).body.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  test('the limits are not tighter than they say: 100 role map entries, urn and loopback http audiences', async () => {
    const created = await admin.post(
      '/admin/clients',
      thirdParty({ first_party: true, role_map: roleMap(100), token_exchange_audiences: ['urn:example:orders', 'http://127.0.0.1:9000/api', 'https://api.example.com/v1?tenant=a'] }),
    );
    expect(created.status).toBe(201);
    expect(Object.keys(created.body.role_map)).toHaveLength(100);
    const patched = await admin.patch(`/admin/clients/${created.body.client_id}`, { grant_types: ['authorization_code'], backchannel_logout_uri: 'https://rp.example.com/logout?from=op' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ grant_types: ['authorization_code'], backchannel_logout_uri: 'https://rp.example.com/logout?from=op' });
  });

  test('dynamic registration (RFC 7591) is held to the same rules', async () => {
    const iat = (await admin.post('/admin/initial-access-tokens', {})).body.initial_access_token;
    const before = await clientCount();
    for (const [extra, field] of [
      [{ grant_types: [], response_types: [] }, 'grant_types'],
      [{ backchannel_logout_uri: 'https://rp.example.com/logout#frag' }, 'backchannel_logout_uri'],
    ] as const) {
      const response = await api(server, iat).post('/reg', { redirect_uris: [REDIRECT_URI], ...extra });
      expect({ status: response.status, error: response.body.error }).toEqual({ status: 400, error: 'invalid_client_metadata' });
      expect(response.body.error_description).toContain(field);
    }
    expect(await clientCount()).toBe(before);
  });
});
