import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { accountApiRoutes } from '../src/account/routes.js';
import { adminRoutes } from '../src/admin/routes.js';
import { adminToken, api, type ApiResponse } from './support/api.js';
import { authorize, createUser, registerClient } from './support/flow.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * /openapi.json kept honest (issue 3): it is a valid OpenAPI 3.1 document, it lists exactly the routes the
 * /admin and /account routers mount, and every documented response (success and error) is produced by a
 * real call here and validated against its documented schema. The last test fails when a documented
 * response was never exercised, so a new route or status needs a call below.
 */

// ajv is CommonJS: the default import is module.exports, whose `default` is the class (and the plugin).
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

let server: TestServer;
let doc: Json;
let ajv: InstanceType<typeof Ajv2020>;
const validators = new Map<string, ValidateFunction>();
/** `METHOD /path/{param} status` of every response this file has seen and validated. */
const covered = new Set<string>();

const rand = () => randomBytes(4).toString('hex');
const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

function resolvePointer(pointer: string): any {
  if (!pointer.startsWith('#/')) throw new Error(`only document-local $refs are expected, got ${pointer}`);
  let node: any = doc;
  for (const raw of pointer.slice(2).split('/')) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}

function validatorAt(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi.json${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
}

function assertMatches(pointer: string, value: unknown, what: string) {
  const validate = validatorAt(pointer);
  if (!validate(value)) {
    throw new Error(`${what} does not match its documented schema (${pointer}):\n  ${ajv.errorsText(validate.errors, { dataVar: 'body', separator: '\n  ' })}\nbody: ${JSON.stringify(value, null, 2)}`);
  }
}

/** The response object documented for a status (following a `$ref` to `components.responses`) and its pointer. */
function documentedResponse(template: string, method: string, status: string): { pointer: string; documented: Json } {
  const pointer = `#/paths/${escapePointer(template)}/${method}/responses/${status}`;
  const documented = resolvePointer(pointer);
  return documented?.$ref ? { pointer: documented.$ref, documented: resolvePointer(documented.$ref) } : { pointer, documented };
}

/**
 * Checks one real response against the document: its status is the expected one and is documented for the
 * operation, its required headers are there, and its body matches the documented schema (or is empty).
 */
function check(method: string, template: string, response: ApiResponse, status: number): void {
  const label = `${method.toUpperCase()} ${template}`;
  if (response.status !== status) throw new Error(`${label}: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  const operation = doc.paths[template]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${label} is not in /openapi.json`);
  if (!operation.responses[String(status)]) throw new Error(`${label} answered ${status}, which /openapi.json does not document for it: ${JSON.stringify(response.body)}`);
  const { pointer, documented } = documentedResponse(template, method.toLowerCase(), String(status));
  for (const [name, header] of Object.entries<Json>(documented.headers ?? {})) {
    const resolved = header.$ref ? resolvePointer(header.$ref) : header;
    if (resolved.required && !response.headers.has(name)) throw new Error(`${label} ${status}: documented header ${name} is missing`);
  }
  if (documented.content?.['application/json']) {
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    assertMatches(`${pointer}/content/application~1json/schema`, response.body, `${label} ${status}`);
  } else if (response.body !== undefined) {
    throw new Error(`${label} ${status}: documented without a body, but it has one: ${JSON.stringify(response.body)}`);
  }
  covered.add(`${label} ${status}`);
}

/** A request body we send on a success path must itself match the documented request schema. */
function checkRequest(method: string, template: string, body: unknown): void {
  const schema = doc.paths[template]?.[method]?.requestBody?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${method.toUpperCase()} ${template} documents no JSON request body`);
  assertMatches(`#/paths/${escapePointer(template)}/${method}/requestBody/content/application~1json/schema`, body, `request body of ${method.toUpperCase()} ${template}`);
}

/** Every route the /admin and /account routers mount, as `METHOD /openapi/{style}` (HEAD and middleware left out). */
function mountedRoutes(): Set<string> {
  const context = server.context;
  // Built as src/app.ts builds them. Add /integrations here when it is mounted.
  const routers: Router[] = [adminRoutes({ ...context, resolve: context.resolveToken }), accountApiRoutes(context.resolveToken, context.grants)];
  const routes = new Set<string>();
  for (const router of routers) {
    for (const layer of router.stack) {
      const methods = layer.methods.filter((method) => method !== 'HEAD');
      if (methods.length === 0) continue; // router.use() middleware
      if (typeof layer.path !== 'string') throw new Error(`a route with a RegExp path cannot be documented: ${String(layer.path)}`);
      const path = layer.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of methods) routes.add(`${method} ${path}`);
    }
  }
  return routes;
}

function documentedOperations(): Array<{ method: string; path: string; operation: Json }> {
  return Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ method, path, operation: item[method] as Json })),
  );
}

const fill = (template: string) => template.replace(/\{[^}]+\}/g, 'no-such-thing');

function send(client: ReturnType<typeof api>, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  switch (method) {
    case 'get':
      return client.get(path);
    case 'post':
      return client.post(path, body ?? {});
    case 'patch':
      return client.patch(path, body ?? {});
    case 'put':
      return client.put(path, body ?? {});
    case 'delete':
      return client.delete(path);
    default:
      throw new Error(`no helper for ${method}`);
  }
}

let admin: ReturnType<typeof api>;
let userToken: string;
let adminTokenValue: string;
let accountClient: { client_id: string; client_secret?: string };

beforeAll(async () => {
  server = await startTestServer();
  const response = await fetch(`${server.url}/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as Json;
  ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  addFormats(ajv);
  // The document's own top-level keys are not JSON Schema keywords: declare them so strict mode accepts the
  // root, and compile only the schemas inside it (`openapi.json#/paths/...`).
  ajv.addVocabulary(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'tags', 'paths', 'webhooks', 'components', 'security', 'externalDocs']);
  ajv.addSchema(doc, 'openapi.json');

  adminTokenValue = await adminToken(server);
  admin = api(server, adminTokenValue);
  accountClient = await registerClient(server, { client_name: 'OpenAPI account RP', scope: 'openid account' });
  const user = await createUser(server);
  userToken = (await authorize(server, accountClient, user, 'openid account')).tokens.access_token;
});
afterAll(async () => {
  await server?.destroy();
});

describe('GET /openapi.json', () => {
  test('is served without authentication, as JSON, briefly cacheable, for this issuer', async () => {
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(doc.servers).toEqual([{ url: server.url }]);
    expect(doc.info.description).toContain(`${server.url}/.well-known/openid-configuration`);
    // (fetch adds `Cache-Control: no-cache` to a conditional request unless told otherwise.)
    const again = await fetch(`${server.url}/openapi.json`, { headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' } });
    expect(again.status).toBe(304);
  });

  test('is a valid OpenAPI 3.1 document whose $refs all resolve', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const result = await new Validator().validate(structuredClone(doc));
    if (!result.valid) throw new Error(`/openapi.json is not valid OpenAPI 3.1:\n${JSON.stringify(result.errors, null, 2)}`);

    const broken: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${at}/${i}`));
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string' && resolvePointer(value) === undefined) broken.push(`${at}: ${value}`);
          walk(value, `${at}/${escapePointer(key)}`);
        }
      }
    };
    walk(doc, '#');
    expect(broken).toEqual([]);

    const problems: string[] = [];
    const operationIds = new Set<string>();
    for (const { method, path, operation } of documentedOperations()) {
      const label = `${method.toUpperCase()} ${path}`;
      if (!operation.responses || Object.keys(operation.responses).length === 0) problems.push(`${label}: no responses`);
      if (!Object.keys(operation.responses ?? {}).some((status) => /^2\d\d$/.test(status))) problems.push(`${label}: no success response`);
      if (!operation.security?.length) problems.push(`${label}: no security requirement`);
      if (!operation.operationId || operationIds.has(operation.operationId)) problems.push(`${label}: missing or duplicate operationId`);
      operationIds.add(operation.operationId);
      const declared = new Set((operation.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name));
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) if (!declared.has(name)) problems.push(`${label}: path parameter ${name} is not declared`);
      // Every response schema must compile (a typo'd keyword fails here, in strict mode).
      for (const status of Object.keys(operation.responses ?? {})) {
        const { pointer, documented } = documentedResponse(path, method, status);
        if (!documented?.description) problems.push(`${label} ${status}: no description`);
        if (documented?.content?.['application/json']) validatorAt(`${pointer}/content/application~1json/schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  test('documents every route mounted under /admin and /account, and no route that is not mounted', () => {
    const mounted = mountedRoutes();
    const documented = new Set(documentedOperations().map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    const missing = [...mounted].filter((route) => !documented.has(route));
    const extra = [...documented].filter((route) => !mounted.has(route));
    if (missing.length || extra.length) {
      throw new Error(
        [missing.length ? `mounted but missing from /openapi.json:\n  ${missing.join('\n  ')}` : '', extra.length ? `in /openapi.json but not mounted:\n  ${extra.join('\n  ')}` : '']
          .filter(Boolean)
          .join('\n'),
      );
    }
    expect(mounted.size).toBeGreaterThan(0);
  });
});

describe('real responses match the document', () => {
  test('every operation answers 401 invalid_token without a token and with a bad one', async () => {
    for (const { method, path } of documentedOperations()) {
      check(method, path, await send(api(server), method, fill(path)), 401);
      check(method, path, await send(api(server, 'not-a-token-of-this-server'), method, fill(path)), 401);
    }
  });

  test('every operation answers 403 insufficient_scope to a token for the other API', async () => {
    for (const { method, path } of documentedOperations()) {
      const token = path.startsWith('/admin') ? userToken : adminTokenValue;
      const response = await send(api(server, token), method, fill(path));
      check(method, path, response, 403);
      expect(response.body.error).toBe('insufficient_scope');
    }
  });

  test('workspaces', async () => {
    const create = { id: `oa-${rand()}`, name: 'OpenAPI test' };
    checkRequest('post', '/admin/workspaces', create);
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', create), 201);
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', { name: 'Generated id' }), 201);
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', create), 409);
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', { name: '' }), 400);
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', '{"name":'), 400);

    const first = await admin.get('/admin/workspaces?limit=1');
    check('get', '/admin/workspaces', first, 200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    check('get', '/admin/workspaces', await admin.get(`/admin/workspaces?cursor=${first.body.next_cursor}`), 200);
    check('get', '/admin/workspaces', await admin.get('/admin/workspaces?limit=0'), 400);

    check('get', '/admin/workspaces/{id}', await admin.get(`/admin/workspaces/${create.id}`), 200);
    check('get', '/admin/workspaces/{id}', await admin.get('/admin/workspaces/no-such-workspace'), 404);

    checkRequest('patch', '/admin/workspaces/{id}', { name: 'Renamed' });
    check('patch', '/admin/workspaces/{id}', await admin.patch(`/admin/workspaces/${create.id}`, { name: 'Renamed' }), 200);
    check('patch', '/admin/workspaces/{id}', await admin.patch(`/admin/workspaces/${create.id}`, {}), 400);
    check('patch', '/admin/workspaces/{id}', await admin.patch('/admin/workspaces/no-such-workspace', { name: 'x' }), 404);

    check('delete', '/admin/workspaces/{id}', await admin.delete('/admin/workspaces/default'), 409);
    const busy = { id: `oa-busy-${rand()}`, name: 'Busy' };
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', busy), 201);
    check('post', '/admin/users', await admin.post('/admin/users', { email: `busy-${rand()}@example.com`, password: 'long enough', workspace_id: busy.id }), 201);
    check('delete', '/admin/workspaces/{id}', await admin.delete(`/admin/workspaces/${busy.id}`), 409);
    check('delete', '/admin/workspaces/{id}', await admin.delete(`/admin/workspaces/${create.id}`), 204);
    check('delete', '/admin/workspaces/{id}', await admin.delete(`/admin/workspaces/${create.id}`), 404);
  });

  test('users', async () => {
    const create = { email: `oa-${rand()}@example.com`, password: 'long enough', name: 'Open API', roles: ['viewer'] };
    checkRequest('post', '/admin/users', create);
    const created = await admin.post('/admin/users', create);
    check('post', '/admin/users', created, 201);
    const id = created.body.id as string;
    check('post', '/admin/users', await admin.post('/admin/users', create), 409);
    check('post', '/admin/users', await admin.post('/admin/users', { email: 'not an email', password: 'long enough' }), 400);

    check('get', '/admin/users', await admin.get('/admin/users?limit=1'), 200);
    check('get', '/admin/users', await admin.get('/admin/users?cursor=not-one-of-ours'), 400);
    check('get', '/admin/users/{id}', await admin.get(`/admin/users/${id}`), 200);
    check('get', '/admin/users/{id}', await admin.get('/admin/users/no-such-user'), 404);

    const change = { name: null, roles: ['editor'], email_verified: true };
    checkRequest('patch', '/admin/users/{id}', change);
    const changed = await admin.patch(`/admin/users/${id}`, change);
    check('patch', '/admin/users/{id}', changed, 200);
    expect(changed.body).toMatchObject({ name: null, roles: ['editor'] });
    check('patch', '/admin/users/{id}', await admin.patch(`/admin/users/${id}`, {}), 400);
    check('patch', '/admin/users/{id}', await admin.patch('/admin/users/no-such-user', { name: 'x' }), 404);

    check('delete', '/admin/users/{id}', await admin.delete(`/admin/users/${id}`), 204);
    check('delete', '/admin/users/{id}', await admin.delete(`/admin/users/${id}`), 404);
  });

  test('clients', async () => {
    const confidential = { client_name: 'OpenAPI RP', redirect_uris: ['https://rp.example.com/cb'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
    checkRequest('post', '/admin/clients', confidential);
    const created = await admin.post('/admin/clients', confidential);
    check('post', '/admin/clients', created, 201);
    expect(created.body.client_secret).toEqual(expect.any(String));
    const id = created.body.client_id as string;

    const publicClient = { client_id: `oa-public-${rand()}`, redirect_uris: ['https://rp.example.com/cb'], token_endpoint_auth_method: 'none' };
    checkRequest('post', '/admin/clients', publicClient);
    const createdPublic = await admin.post('/admin/clients', publicClient);
    check('post', '/admin/clients', createdPublic, 201);
    expect(createdPublic.body.client_secret).toBeUndefined();
    check('post', '/admin/clients', await admin.post('/admin/clients', publicClient), 409);
    check('post', '/admin/clients', await admin.post('/admin/clients', { redirect_uris: ['not a url'] }), 400);
    check('post', '/admin/clients', await admin.post('/admin/clients', { client_secret: 'mine' }), 400);

    const first = await admin.get('/admin/clients?limit=1');
    check('get', '/admin/clients', first, 200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    check('get', '/admin/clients', await admin.get(`/admin/clients?cursor=${first.body.next_cursor}&workspace_id=default`), 200);
    check('get', '/admin/clients', await admin.get('/admin/clients?limit=1001'), 400);

    check('get', '/admin/clients/{id}', await admin.get(`/admin/clients/${id}`), 200);
    check('get', '/admin/clients/{id}', await admin.get('/admin/clients/no-such-client'), 404);

    const change = { client_name: 'Renamed RP', require_pkce: null };
    checkRequest('patch', '/admin/clients/{id}', change);
    check('patch', '/admin/clients/{id}', await admin.patch(`/admin/clients/${id}`, change), 200);
    // Public → confidential: the change issues a secret, returned once.
    const madeConfidential = await admin.patch(`/admin/clients/${publicClient.client_id}`, { token_endpoint_auth_method: 'client_secret_basic' });
    check('patch', '/admin/clients/{id}', madeConfidential, 200);
    expect(madeConfidential.body.client_secret).toEqual(expect.any(String));
    check('patch', '/admin/clients/{id}', await admin.patch(`/admin/clients/${id}`, { client_id: 'another' }), 400);
    check('patch', '/admin/clients/{id}', await admin.patch('/admin/clients/no-such-client', { client_name: 'x' }), 404);

    check('post', '/admin/clients/{id}/secret', await admin.post(`/admin/clients/${id}/secret`), 200);
    check('patch', '/admin/clients/{id}', await admin.patch(`/admin/clients/${publicClient.client_id}`, { token_endpoint_auth_method: 'none' }), 200);
    check('post', '/admin/clients/{id}/secret', await admin.post(`/admin/clients/${publicClient.client_id}/secret`), 400);
    check('post', '/admin/clients/{id}/secret', await admin.post('/admin/clients/no-such-client/secret'), 404);

    check('delete', '/admin/clients/{id}', await admin.delete(`/admin/clients/${id}`), 204);
    check('delete', '/admin/clients/{id}', await admin.delete(`/admin/clients/${id}`), 404);
  });

  test('resource servers', async () => {
    const create = { identifier: `https://api.example.com/${rand()}`, scopes: ['read', 'write'], access_token_ttl: 600 };
    checkRequest('post', '/admin/resources', create);
    const created = await admin.post('/admin/resources', create);
    check('post', '/admin/resources', created, 201);
    check('post', '/admin/resources', await admin.post('/admin/resources', create), 409);
    check('post', '/admin/resources', await admin.post('/admin/resources', { identifier: 'not a uri' }), 400);

    check('get', '/admin/resources', await admin.get('/admin/resources'), 200);
    check('get', '/admin/resources', await admin.get('/admin/resources?limit=abc'), 400);

    check('delete', '/admin/resources/{id}', await admin.delete(`/admin/resources/${created.body.id}`), 204);
    check('delete', '/admin/resources/{id}', await admin.delete(`/admin/resources/${created.body.id}`), 404);
  });

  test('initial access tokens', async () => {
    checkRequest('post', '/admin/initial-access-tokens', { expires_in: 3600 });
    check('post', '/admin/initial-access-tokens', await admin.post('/admin/initial-access-tokens', { expires_in: 3600 }), 201);
    check('post', '/admin/initial-access-tokens', await admin.post('/admin/initial-access-tokens', {}), 201);
    check('post', '/admin/initial-access-tokens', await admin.post('/admin/initial-access-tokens', { expires_in: 1 }), 400);
  });

  test('audit', async () => {
    const first = await admin.get('/admin/audit?limit=2');
    check('get', '/admin/audit', first, 200);
    expect(first.body.items).toHaveLength(2);
    check('get', '/admin/audit', await admin.get(`/admin/audit?cursor=${first.body.next_cursor}`), 200);
    check('get', '/admin/audit', await admin.get(`/admin/audit?type=UserCreate&since=${encodeURIComponent('2020-01-01T00:00:00+00:00')}`), 200);
    check('get', '/admin/audit', await admin.get('/admin/audit?type=NoSuchType'), 400);
  });

  test('account', async () => {
    const account = api(server, userToken);
    const grants = await account.get('/account/grants');
    check('get', '/account/grants', grants, 200);
    const grant = (grants.body.items as Array<{ grant_id: string; client_id: string }>).find((item) => item.client_id === accountClient.client_id);
    expect(grant).toBeDefined();

    check('delete', '/account/grants/{grantId}', await account.delete('/account/grants/no-such-grant'), 404);
    check('delete', '/account/grants/{grantId}', await account.delete(`/account/grants/${grant!.grant_id}`), 204);
    // The token belonged to that grant: it is dead now.
    check('get', '/account/grants', await account.get('/account/grants'), 401);
  });

  test('every documented response was produced and validated above', () => {
    const documented = documentedOperations().flatMap(({ method, path, operation }) =>
      Object.keys(operation.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
    );
    expect(documented.filter((response) => !covered.has(response))).toEqual([]);
  });
});
