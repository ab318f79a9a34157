import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { postForm } from '../support/flow.js';

/**
 * Resource server identifiers that are one URI spelled differently (RFC 3986 §6.2: scheme and host are
 * case-insensitive, a default port and an empty path are implied, percent-encoding case): a second spelling is refused
 * like the same identifier (409 `resource_exists`, naming the registered one) and nothing is stored. Identifiers are
 * stored as given and a `resource` parameter is still matched exactly (src/oidc/resource-servers.ts).
 */
let server: TestServer;
let admin: ReturnType<typeof api>;

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
});
afterAll(async () => server?.destroy());

const host = () => `api-${randomBytes(4).toString('hex')}.example.com`;
type Resource = { id: string; identifier: string; scopes: string[]; workspace_id: string; access_token_ttl: number | null; created_at: string };
const allResources = async (): Promise<Resource[]> => (await admin.get('/admin/resources?limit=1000')).body.items;

async function register(identifier: string, scopes = ['read']): Promise<Resource> {
  const response = await admin.post('/admin/resources', { identifier, scopes });
  expect({ identifier, status: response.status }).toEqual({ identifier, status: 201 });
  return response.body;
}

describe('another spelling of a registered identifier', () => {
  test.each([
    ['a trailing slash for the empty path', (h: string) => `https://${h}`, (h: string) => `https://${h}/`],
    ['an empty path for a trailing slash', (h: string) => `https://${h}/`, (h: string) => `https://${h}`],
    ['scheme and host in upper case', (h: string) => `https://${h}`, (h: string) => `HTTPS://${h.toUpperCase()}`],
    ['mixed case host, path kept', (h: string) => `https://${h}/orders`, (h: string) => `https://${h.replace('api', 'API')}/orders`],
    ['the default https port', (h: string) => `https://${h}/v1`, (h: string) => `https://${h}:443/v1`],
    ['the default http port', (h: string) => `http://${h}/v1`, (h: string) => `http://${h}:80/v1`],
    ['dot segments', (h: string) => `https://${h}/v1/orders`, (h: string) => `https://${h}/v1/x/../orders`],
    ['a percent-encoded unreserved character', (h: string) => `https://${h}/~orders`, (h: string) => `https://${h}/%7Eorders`],
    ['percent-encoding in lower case', (h: string) => `https://${h}/a%2Fb`, (h: string) => `https://${h}/a%2fb`],
    ['a URN namespace in another case (RFC 8141 §3)', (h: string) => `urn:${h.split('.')[0]}:Orders`, (h: string) => `URN:${h.split('.')[0]!.toUpperCase()}:Orders`],
  ])('%s is a 409 resource_exists naming the registered identifier; nothing is stored', async (_name, first, second) => {
    const name = host();
    const registered = await register(first(name));
    const before = await allResources();
    const response = await admin.post('/admin/resources', { identifier: second(name), scopes: ['write'] });
    expect({ status: response.status, error: response.body.error }).toEqual({ status: 409, error: 'resource_exists' });
    expect(response.body.error_description).toContain('identifier');
    expect(response.body.error_description).toContain(registered.identifier);
    expect(await allResources()).toEqual(before);
  });

  test('the very same identifier is still a 409 resource_exists', async () => {
    const identifier = `https://${host()}`;
    await register(identifier);
    const before = await allResources();
    const response = await admin.post('/admin/resources', { identifier });
    expect(response.status).toBe(409);
    expect(response.body).toEqual({ error: 'resource_exists', error_description: `a resource server with identifier ${identifier} exists` });
    expect(await allResources()).toEqual(before);
  });

  test('the identifier is stored as it was given', async () => {
    const identifier = `HTTPS://${host().toUpperCase()}:443`;
    const created = await register(identifier);
    expect(created.identifier).toBe(identifier);
    expect((await allResources()).find((resource) => resource.id === created.id)?.identifier).toBe(identifier);
  });

  test('two spellings sent at once: one is created, the other refused', async () => {
    const name = host();
    const answers = await Promise.all([admin.post('/admin/resources', { identifier: `https://${name}` }), admin.post('/admin/resources', { identifier: `https://${name.toUpperCase()}/` })]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const stored = (await allResources()).filter((resource) => resource.identifier.toLowerCase().includes(name));
    expect(stored).toHaveLength(1);
  });
});

describe('different URIs stay different resource servers', () => {
  test.each([
    ['another scheme', (h: string) => `https://${h}`, (h: string) => `http://${h}`],
    ['another port', (h: string) => `https://${h}`, (h: string) => `https://${h}:8443`],
    ['a trailing slash on a non-empty path (RFC 3986 §6.2.4 leaves it to the scheme)', (h: string) => `https://${h}/v1`, (h: string) => `https://${h}/v1/`],
    ['another path case', (h: string) => `https://${h}/Orders`, (h: string) => `https://${h}/orders`],
    ['a query', (h: string) => `https://${h}/`, (h: string) => `https://${h}/?tenant=a`],
    ['a URN specific string in another case', (h: string) => `urn:${h.split('.')[0]}:Orders`, (h: string) => `urn:${h.split('.')[0]}:orders`],
  ])('%s', async (_name, first, second) => {
    const name = host();
    await register(first(name));
    await register(second(name));
  });
});

describe('a `resource` parameter names the identifier as registered', () => {
  test('the registered spelling gets a token for it; another spelling is an unknown resource server', async () => {
    const identifier = `https://${host()}`;
    await register(identifier, ['read']);
    const machine = await admin.post('/admin/clients', { client_name: 'svc', grant_types: ['client_credentials'], scope: 'openid' });
    expect(machine.status).toBe(201);
    const token = await postForm(server, '/token', { grant_type: 'client_credentials', resource: identifier, scope: 'read' }, machine.body);
    expect(token.status).toBe(200);
    const other = `${identifier.toUpperCase()}/`;
    const refused = await postForm(server, '/token', { grant_type: 'client_credentials', resource: other, scope: 'read' }, machine.body);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'invalid_target', error_description: `unknown resource server ${other}` });
  });
});
