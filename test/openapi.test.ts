import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { accountApiRoutes } from '../src/account/routes.js';
import { adminRoutes } from '../src/admin/routes.js';
import { integrationRoutes } from '../src/integrations/routes.js';
import { RISC_BODY_LIMIT, RISC_EVENTS, riscRoutes } from '../src/integrations/risc/index.js';
import { alexaRoutes } from '../src/integrations/alexa/routes.js';
import { acceptGrantDirective, lwaGrantCode, restoreCallbacks, useAlexaRedirect } from './integrations/alexa.js';
import { webhookQueries } from '../src/queries/webhooks.js';
import { connect, integrationService, integrationUser, mailboxSettings, startConsumerWorld, type ConsumerWorld } from './integrations/setup.js';
import { adminToken, api, type ApiResponse } from './support/api.js';
import { authorize, createUser, registerClient } from './support/flow.js';
import type { TestServer } from './support/server.js';

/**
 * /openapi.json kept honest (issue 3): it is a valid OpenAPI 3.1 document, it lists exactly the routes the
 * /admin, /account and /integrations routers mount, and every documented response (success and error) is
 * produced by a real call here and validated against its documented schema. The last test fails when a
 * documented response was never exercised, so a new route or status needs a call below.
 * The server is a consumer world's (test/integrations/setup.ts): its providers point at a local upstream
 * OAuth provider, so the /integrations flows (connect, refresh, revoke) run for real, and its Google
 * Cross-Account Protection receiver trusts a local JWKS, so a SET signed here is accepted.
 */

// ajv is CommonJS: the default import is module.exports, whose `default` is the class (and the plugin).
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

let world: ConsumerWorld;
let server: TestServer;
let doc: Json;
let ajv: InstanceType<typeof Ajv2020>;
const validators = new Map<string, ValidateFunction>();
/** `METHOD /path/{param} status` of every response this file has seen and validated. */
const covered = new Set<string>();

/** Google's RISC signing keys, played by a local JWKS (test/integrations/risc.test.ts does the same). */
const RISC_ISSUER = 'https://accounts.google.test/';
const RISC_KID = 'openapi-risc';
let riscKey: Awaited<ReturnType<typeof jose.generateKeyPair>>['privateKey'];
let jwksServer: http.Server;
/** While true the JWKS answers 500: the receiver cannot fetch the keys (503). */
let jwksDown = false;

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
 * operation, its required headers are there and match their schemas, and its body is of a documented media
 * type and matches that type's schema (or is empty when none is documented).
 */
function check(method: string, template: string, response: ApiResponse, status: number): void {
  const label = `${method.toUpperCase()} ${template}`;
  if (response.status !== status) throw new Error(`${label}: expected ${status}, got ${response.status}: ${JSON.stringify(response.body)}`);
  const operation = doc.paths[template]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${label} is not in /openapi.json`);
  if (!operation.responses[String(status)]) throw new Error(`${label} answered ${status}, which /openapi.json does not document for it: ${JSON.stringify(response.body)}`);
  const { pointer, documented } = documentedResponse(template, method.toLowerCase(), String(status));
  for (const [name, header] of Object.entries<Json>(documented.headers ?? {})) {
    const headerPointer = header.$ref ?? `${pointer}/headers/${escapePointer(name)}`;
    const resolved = resolvePointer(headerPointer);
    const value = response.headers.get(name);
    if (value === null) {
      if (resolved.required) throw new Error(`${label} ${status}: documented header ${name} is missing`);
      continue;
    }
    if (resolved.schema) assertMatches(`${headerPointer}/schema`, value, `${label} ${status} header ${name}`);
  }
  const content = documented.content as Json | undefined;
  if (content) {
    const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    if (!content[mediaType]) throw new Error(`${label} ${status}: content-type ${mediaType || '(none)'} is not documented (${Object.keys(content).join(', ')})`);
    assertMatches(`${pointer}/content/${escapePointer(mediaType)}/schema`, response.body, `${label} ${status}`);
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

/** Every route the /admin, /account and /integrations routers (RISC's included) mount, as `METHOD /openapi/{style}` (HEAD and middleware left out). */
function mountedRoutes(): Set<string> {
  const context = server.context;
  // Built as src/app.ts builds them.
  const routers: Router[] = [
    adminRoutes({ ...context, resolve: context.resolveToken }),
    accountApiRoutes(context.resolveToken, context.grants),
    riscRoutes({ receiver: context.risc }),
    alexaRoutes(context.acceptGrant),
    integrationRoutes(context.resolveToken, context.integrations),
  ];
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

/** `security: []`: called without a bearer token (the provider's redirect to the integrations callback). */
const needsBearer = (operation: Json) => (operation.security as unknown[]).length > 0;

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
  const keys = await jose.generateKeyPair('RS256', { extractable: true });
  riscKey = keys.privateKey;
  const jwks = JSON.stringify({ keys: [{ ...(await jose.exportJWK(keys.publicKey)), kid: RISC_KID, alg: 'RS256', use: 'sig' }] });
  jwksServer = http.createServer((_req, res) => {
    res.statusCode = jwksDown ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(jwksDown ? '{}' : jwks);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/certs`;
  world = await startConsumerWorld({ config: { config: { googleRisc: { issuer: RISC_ISSUER, jwksUri } } }, withAmazonLwa: true });
  server = world.server;
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
  await world?.close();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
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
      // A bearer requirement and a documented 401, or `security: []` (explicitly none) and no 401.
      if (!Array.isArray(operation.security)) problems.push(`${label}: no security requirement (\`[]\` for none)`);
      else if (needsBearer(operation) !== !!operation.responses?.['401']) problems.push(`${label}: documents 401 only if it needs a bearer token`);
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

  test('documents every route mounted under /admin, /account and /integrations, and no route that is not mounted', () => {
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
    for (const { method, path, operation } of documentedOperations()) {
      if (!needsBearer(operation)) continue;
      check(method, path, await send(api(server), method, fill(path)), 401);
      check(method, path, await send(api(server, 'not-a-token-of-this-server'), method, fill(path)), 401);
    }
  });

  test('every operation that documents 403 answers insufficient_scope to a token for another API', async () => {
    // /integrations takes any token of this server; only the token vending route needs a scope (integrations:token).
    expect(documentedOperations().filter(({ path, operation }) => path.startsWith('/integrations') && operation.responses['403']).map(({ path }) => path)).toEqual([
      '/integrations/{provider}/token',
    ]);
    for (const { method, path, operation } of documentedOperations()) {
      if (!operation.responses['403']) continue;
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

    // The account page's client is built in (src/clients/built-in.ts): read, never changed.
    check('patch', '/admin/clients/{id}', await admin.patch('/admin/clients/account-console', { client_name: 'x' }), 409);
    check('post', '/admin/clients/{id}/secret', await admin.post('/admin/clients/account-console/secret'), 409);
    check('delete', '/admin/clients/{id}', await admin.delete('/admin/clients/account-console'), 409);
    check('get', '/admin/clients/{id}', await admin.get('/admin/clients/account-console'), 200);
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

  test('webhooks', async () => {
    const ws = { id: `oa-wh-${rand()}`, name: 'OpenAPI webhooks' };
    check('post', '/admin/workspaces', await admin.post('/admin/workspaces', ws), 201);
    const path = '/admin/workspaces/{id}/webhooks';
    const base = `/admin/workspaces/${ws.id}/webhooks`;
    const create = { url: 'https://receiver.example.com/hooks', events: ['connection.connected', 'connection.revoked'] };
    checkRequest('post', path, create);
    const created = await admin.post(base, create);
    check('post', path, created, 201);
    expect(created.body.secret).toMatch(/^whsec_/);
    check('post', path, await admin.post(base, { url: 'http://127.0.0.1:8080/hooks', events: ['connection.refreshed'] }), 201);
    check('post', path, await admin.post(base, { url: 'http://receiver.example.com/hooks', events: ['connection.connected'] }), 400);
    check('post', path, await admin.post(base, { url: create.url, events: [] }), 400);
    check('post', path, await admin.post(base, '{"url":'), 400);
    check('post', path, await admin.post('/admin/workspaces/no-such-workspace/webhooks', create), 404);

    const first = await admin.get(`${base}?limit=1`);
    check('get', path, first, 200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    check('get', path, await admin.get(`${base}?cursor=${first.body.next_cursor}`), 200);
    check('get', path, await admin.get(`${base}?limit=0`), 400);
    check('get', path, await admin.get('/admin/workspaces/no-such-workspace/webhooks'), 404);

    // Two deliveries in the log (written as the dispatcher writes them): one retrying, one delivered.
    const webhooks = webhookQueries(server.context.database.db);
    const retrying = randomUUID();
    const delivered = randomUUID();
    for (const [id, event] of [[retrying, 'connection.connected'], [delivered, 'connection.revoked']] as const) {
      await webhooks.insertDelivery({ id, subscription_id: created.body.id, event, payload: { type: event }, created_at: new Date() });
    }
    await webhooks.recordAttempt(retrying, 0, { status: 'pending', last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: new Date(Date.now() + 60_000), delivered_at: null });
    await webhooks.recordAttempt(delivered, 0, { status: 'delivered', last_status_code: 200, last_error: null, next_attempt_at: null, delivered_at: new Date() });
    await webhooks.recordAttempt(retrying, 1, { status: 'failed', last_status_code: null, last_error: 'timeout', next_attempt_at: null, delivered_at: null });
    const log = '/admin/workspaces/{id}/webhooks/{webhookId}/deliveries';
    const deliveries = `${base}/${created.body.id}/deliveries`;
    const page1 = await admin.get(`${deliveries}?limit=1`);
    check('get', log, page1, 200);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await admin.get(`${deliveries}?cursor=${page1.body.next_cursor}`);
    check('get', log, page2, 200);
    expect([...page1.body.items, ...page2.body.items].map((item: { id: string }) => item.id).sort()).toEqual([retrying, delivered].sort());
    check('get', log, await admin.get(`${deliveries}?cursor=not-one-of-ours`), 400);
    check('get', log, await admin.get(`${base}/no-such-webhook/deliveries`), 404);

    const one = '/admin/workspaces/{id}/webhooks/{webhookId}';
    check('delete', one, await admin.delete(`${base}/${created.body.id}`), 204);
    check('delete', one, await admin.delete(`${base}/${created.body.id}`), 404);
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
    check('get', '/account/grants', await account.get('/account/grants?limit=0'), 400);
    const grant = (grants.body.items as Array<{ grant_id: string; client_id: string }>).find((item) => item.client_id === accountClient.client_id);
    expect(grant).toBeDefined();

    check('delete', '/account/grants/{grantId}', await account.delete('/account/grants/no-such-grant'), 404);
    check('delete', '/account/grants/{grantId}', await account.delete(`/account/grants/${grant!.grant_id}`), 204);
    // The token belonged to that grant: it is dead now.
    check('get', '/account/grants', await account.get('/account/grants'), 401);
  });
});

/** A GET as the user's browser makes it (the provider's redirect to our callback): no token, redirects not followed. */
async function browserGet(url: string | URL, accept = 'application/json'): Promise<ApiResponse> {
  const response = await fetch(url, { redirect: 'manual', headers: { accept } });
  const text = await response.text();
  let body: unknown = text || undefined;
  if (response.headers.get('content-type')?.startsWith('application/json')) body = JSON.parse(text);
  return { status: response.status, headers: response.headers, body };
}

/** A POST with no body at all (the integrations POST bodies are optional). */
async function postWithoutBody(token: string, path: string): Promise<ApiResponse> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A loopback port that was free a moment ago (nothing listens on it). */
async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const CALLBACK = '/integrations/{provider}/callback';
const TOKEN = '/integrations/{provider}/token';
const DISCONNECT = '/integrations/{provider}/disconnect';
const MAILBOX = '/integrations/mailboxes/{purpose}';
const ACCEPT_GRANT = '/integrations/amazon-lwa/accept-grant';

describe('integrations: real responses match the document', () => {
  // A user of a workspace of its own (mailboxes are per workspace), with a token carrying integrations:token.
  let user: Awaited<ReturnType<typeof integrationUser>>;
  /** The Google connection (purpose `oa`) made by the callback test, used by the later ones. */
  let connectionId: string;
  beforeAll(async () => {
    user = await integrationUser(server, `oa-int-${rand()}`);
  });

  test('providers', async () => {
    const providers = await user.call.get('/integrations/providers');
    check('get', '/integrations/providers', providers, 200);
    const byName = Object.fromEntries((providers.body.items as Array<{ name: string; configured: boolean }>).map((p) => [p.name, p]));
    expect(byName.google?.configured).toBe(true);
    expect(byName.airbnb?.configured).toBe(false);
  });

  test('authorize', async () => {
    const path = '/integrations/{provider}/authorize';
    const body = { purpose: 'oa-start', return_to: '/account', scopes: ['openid', 'email'] };
    checkRequest('post', path, body);
    const started = await user.call.post('/integrations/google/authorize', body);
    check('post', path, started, 200);
    expect(new URL(started.body.authorization_url).origin).toBe(world.upstream.issuer);
    check('post', path, await postWithoutBody(user.token, '/integrations/google/authorize'), 200);

    for (const bad of [{ purpose: 'Bad Purpose' }, { return_to: 'https://evil.example/steal' }, { scopes: [] }]) {
      const refused = await user.call.post('/integrations/google/authorize', bad);
      check('post', path, refused, 400);
      expect(refused.body.error).toBe('invalid_request');
    }
    check('post', path, await user.call.post('/integrations/google/authorize', '{"purpose":'), 400);
    const unconfigured = await user.call.post('/integrations/airbnb/authorize', {});
    check('post', path, unconfigured, 400);
    expect(unconfigured.body.error).toBe('provider_not_configured');
    check('post', path, await user.call.post('/integrations/no-such-provider/authorize', {}), 404);
  });

  test('callback (the provider’s redirect)', async () => {
    const connected = await connect(world, user.call, 'google', { purpose: 'oa' });
    check('get', CALLBACK, connected, 200);
    expect(connected.body).toMatchObject({ provider: 'google', purpose: 'oa', status: 'active', actor: `user:${user.user.id}` });
    connectionId = connected.body.id;

    const redirected = await connect(world, user.call, 'gmail', { purpose: 'oa', return_to: '/account' });
    check('get', CALLBACK, redirected, 303);
    const location = new URL(redirected.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${server.url}/account`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ connected: 'gmail', purpose: 'oa' });

    const noState = await browserGet(`${server.url}/integrations/google/callback?code=abc`);
    check('get', CALLBACK, noState, 400);
    expect(noState.body.error).toBe('invalid_request');
    const unknownState = await browserGet(`${server.url}/integrations/google/callback?code=abc&state=never-issued`);
    check('get', CALLBACK, unknownState, 400);
    expect(unknownState.body.error).toBe('invalid_state');
    const unconfigured = await browserGet(`${server.url}/integrations/airbnb/callback?code=abc&state=whatever`);
    check('get', CALLBACK, unconfigured, 400);
    expect(unconfigured.body.error).toBe('provider_not_configured');

    // The user declines at the provider: its error comes back through the redirect.
    const started = await user.call.post('/integrations/google/authorize', { purpose: 'oa-denied' });
    const declined = await browserGet(await world.upstream.completeLogin(started.body.authorization_url, { deny: true }));
    check('get', CALLBACK, declined, 400);
    expect(declined.body.error).toBe('access_denied');
    // A state is single use: the same redirect again is refused.
    expect((await browserGet(redirected.callback)).body.error).toBe('invalid_state');

    // The real caller is a browser: errors come as an HTML page when it asks for HTML.
    const page = await browserGet(`${server.url}/integrations/google/callback`, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8');
    check('get', CALLBACK, page, 400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    check('get', CALLBACK, await browserGet(`${server.url}/integrations/no-such-provider/callback?state=x`), 404);
  });

  test('connections and status', async () => {
    const first = await user.call.get('/integrations?limit=1');
    check('get', '/integrations', first, 200);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    check('get', '/integrations', await user.call.get(`/integrations?cursor=${first.body.next_cursor}`), 200);
    const google = await user.call.get('/integrations?provider=google');
    check('get', '/integrations', google, 200);
    expect(google.body.items.map((c: { id: string }) => c.id)).toEqual([connectionId]);
    check('get', '/integrations', await user.call.get('/integrations?limit=0'), 400);
    check('get', '/integrations', await user.call.get('/integrations?cursor=not-one-of-ours'), 400);
    // A client_credentials token is an actor of its own (api_key:<client_id>), with no connections yet.
    const service = await integrationService(server);
    const none = await service.call.get('/integrations');
    check('get', '/integrations', none, 200);
    expect(none.body.items).toEqual([]);

    const path = '/integrations/{provider}/status';
    const status = await user.call.get('/integrations/google/status?purpose=oa');
    check('get', path, status, 200);
    expect(status.body.id).toBe(connectionId);
    check('get', path, await user.call.get('/integrations/google/status?purpose=Bad%20Purpose'), 400);
    check('get', path, await user.call.get('/integrations/Not_A_Provider/status'), 400);
    check('get', path, await user.call.get('/integrations/google/status?purpose=no-such-purpose'), 404);
  });

  test('token vending', async () => {
    const body = { purpose: 'oa', force_refresh: true };
    checkRequest('post', TOKEN, body);
    const vended = await user.call.post('/integrations/google/token', { purpose: 'oa' });
    check('post', TOKEN, vended, 200);
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(true);
    const refreshes = world.upstream.counts.refresh;
    check('post', TOKEN, await user.call.post('/integrations/google/token', body), 200);
    expect(world.upstream.counts.refresh).toBe(refreshes + 1);
    // No body: purpose `default`, of which the user has none.
    check('post', TOKEN, await postWithoutBody(user.token, '/integrations/google/token'), 404);

    const bad = await user.call.post('/integrations/google/token', { purpose: 'oa', force_refresh: 'yes' });
    check('post', TOKEN, bad, 400);
    expect(bad.body.error).toBe('invalid_request');
    const unconfigured = await user.call.post('/integrations/airbnb/token', {});
    check('post', TOKEN, unconfigured, 400);
    expect(unconfigured.body.error).toBe('provider_not_configured');
    // Any token of this server reaches /integrations, but vending needs integrations:token.
    const noScope = await api(server, adminTokenValue).post('/integrations/google/token', { purpose: 'oa' });
    check('post', TOKEN, noScope, 403);
    expect(noScope.headers.get('www-authenticate')).toContain('scope="integrations:token"');
    // The provider refuses a token for scopes the user never granted; the link itself stays active.
    const extra = await user.call.post('/integrations/google/token', { purpose: 'oa', scopes: ['https://graph.microsoft.com/User.Read'] });
    check('post', TOKEN, extra, 400);
    expect(extra.body.error).toBe('invalid_scope');
    expect((await user.call.get('/integrations/google/status?purpose=oa')).body.status).toBe('active');
    check('post', TOKEN, await user.call.post('/integrations/no-such-provider/token', {}), 404);
    check('post', TOKEN, await user.call.post('/integrations/google/token', { purpose: 'no-such-purpose' }), 404);

    // The provider refuses the refresh token: the link is broken until connected again.
    await connect(world, user.call, 'google', { purpose: 'oa-broken' });
    world.upstream.failRefreshes(true);
    try {
      const broken = await user.call.post('/integrations/google/token', { purpose: 'oa-broken', force_refresh: true });
      check('post', TOKEN, broken, 409);
      expect(broken.body.error).toBe('needs_reauth');
    } finally {
      world.upstream.failRefreshes(false);
    }
    const status = await user.call.get('/integrations/google/status?purpose=oa-broken');
    check('get', '/integrations/{provider}/status', status, 200);
    expect(status.body).toMatchObject({ status: 'needs_reauth', health: { error_count_24h: 1, last_error: expect.stringContaining('invalid_grant') } });
  });

  test('mailboxes', async () => {
    const settings = mailboxSettings;
    check('get', MAILBOX, await user.call.get('/integrations/mailboxes/oa'), 404);
    checkRequest('put', MAILBOX, settings());
    const created = await user.call.put('/integrations/mailboxes/oa', settings());
    check('put', MAILBOX, created, 201);
    expect(JSON.stringify(created.body)).not.toContain('app-secret-1');
    check('put', MAILBOX, await user.call.put('/integrations/mailboxes/oa', settings({ password: undefined, email: undefined, use_idle: false })), 200);
    const oauth = settings({ auth_method: 'oauth2', password: undefined, connection_id: connectionId });
    checkRequest('put', MAILBOX, oauth);
    const switched = await user.call.put('/integrations/mailboxes/oa', oauth);
    check('put', MAILBOX, switched, 200);
    expect(switched.body).toMatchObject({ auth_method: 'oauth2', connection_id: connectionId, has_password: true });
    check('get', MAILBOX, await user.call.get('/integrations/mailboxes/oa'), 200);
    check('get', MAILBOX, await user.call.get('/integrations/mailboxes/Bad%20Purpose'), 400);

    for (const bad of [
      settings({ auth_method: 'kerberos' }),
      settings({ smtp: { host: 'smtp.example.com', port: 25, security: 'none' } }),
      settings({ auth_method: 'oauth2', connection_id: undefined }),
      // the stored password goes only to the server and username it was given for
      settings({ password: undefined, imap: { host: 'imap.elsewhere.example', port: 993, security: 'tls' } }),
    ]) {
      check('put', MAILBOX, await user.call.put('/integrations/mailboxes/oa', bad), 400);
    }
    check('put', MAILBOX, await user.call.put('/integrations/mailboxes/oa', '{"auth_method":'), 400);
    check('put', MAILBOX, await user.call.put('/integrations/mailboxes/Bad%20Purpose', settings()), 400);
    const missing = await user.call.put('/integrations/mailboxes/oa', settings({ auth_method: 'oauth2', connection_id: '00000000-0000-4000-8000-000000000000' }));
    check('put', MAILBOX, missing, 404);
  });

  test('mailbox check', async () => {
    const path = '/integrations/mailboxes/{purpose}/check';
    check('post', path, await user.call.post('/integrations/mailboxes/oa-check/check'), 404);
    check('post', path, await user.call.post('/integrations/mailboxes/Bad%20Purpose/check'), 400);
    // A loopback port nobody listens on (plaintext is allowed on loopback): both sides are refused at once.
    const port = await freePort();
    const endpoint = { host: '127.0.0.1', port, security: 'none' };
    check('put', MAILBOX, await user.call.put('/integrations/mailboxes/oa-check', mailboxSettings({ imap: endpoint, smtp: endpoint })), 201);
    const checked = await user.call.post('/integrations/mailboxes/oa-check/check');
    check('post', path, checked, 200);
    expect(checked.body).toMatchObject({ purpose: 'oa-check', auth_method: 'password', ok: false, imap: { ok: false }, smtp: { ok: false } });
    expect(JSON.stringify(checked.body)).not.toContain('app-secret-1');
    const stored = await user.call.get('/integrations/mailboxes/oa-check');
    check('get', MAILBOX, stored, 200);
    expect(stored.body.health).toMatchObject({ last_check_at: checked.body.checked_at, last_success_at: null, last_error: expect.any(String) });
  });

  test('disconnect', async () => {
    checkRequest('post', DISCONNECT, { purpose: 'oa' });
    const disconnected = await user.call.post('/integrations/google/disconnect', { purpose: 'oa' });
    check('post', DISCONNECT, disconnected, 200);
    // The local "google" has a revocation endpoint; the mailbox that used the connection went back to its password.
    expect(disconnected.body).toMatchObject({ id: connectionId, status: 'revoked', upstream_revocation: 'revoked', mailboxes_reverted: ['oa'] });
    const again = await user.call.post('/integrations/google/disconnect', { purpose: 'oa' });
    check('post', DISCONNECT, again, 200);
    expect(again.body).toMatchObject({ upstream_revocation: 'nothing_to_revoke', mailboxes_reverted: [] });
    const revoked = await user.call.post('/integrations/google/token', { purpose: 'oa' });
    check('post', TOKEN, revoked, 409);
    expect(revoked.body.error).toBe('connection_revoked');

    check('post', DISCONNECT, await user.call.post('/integrations/google/disconnect', { purpose: 'oa', extra: true }), 400);
    check('post', DISCONNECT, await user.call.post('/integrations/google/disconnect', { purpose: 'no-such-purpose' }), 404);
    // No body: purpose `default`, of which the user has none.
    check('post', DISCONNECT, await postWithoutBody(user.token, '/integrations/google/disconnect'), 404);
  });

  test('alexa accept-grant', async () => {
    useAlexaRedirect(world);
    try {
      const body = acceptGrantDirective(await lwaGrantCode(world), user.token);
      checkRequest('post', ACCEPT_GRANT, body);
      checkRequest('post', ACCEPT_GRANT, body.directive);
      const linked = await api(server).post('/integrations/amazon-lwa/accept-grant?purpose=oa-alexa', body);
      check('post', ACCEPT_GRANT, linked, 200);
      expect(linked.body.connection).toMatchObject({ provider: 'amazon-lwa', purpose: 'oa-alexa', status: 'active' });
      const refused = await api(server).post('/integrations/amazon-lwa/accept-grant', acceptGrantDirective('never-issued', user.token));
      check('post', ACCEPT_GRANT, refused, 400);
      expect(refused.body.error).toBe('invalid_grant');
      check('post', ACCEPT_GRANT, await api(server).post('/integrations/amazon-lwa/accept-grant', acceptGrantDirective('x', 'not-a-token')), 400);
      check('post', ACCEPT_GRANT, await api(server).post('/integrations/amazon-lwa/accept-grant', '{"directive":'), 400);
    } finally {
      restoreCallbacks(world);
    }
  });

  // Last: it stops the upstream provider for good.
  test('the provider unreachable: 502 upstream_unavailable', async () => {
    await connect(world, user.call, 'google', { purpose: 'oa-down' });
    // The user is back from the provider, but its token endpoint goes away before the code is exchanged.
    const started = await user.call.post('/integrations/google/authorize', { purpose: 'oa-late' });
    const callback = await world.upstream.completeLogin(started.body.authorization_url);
    await world.upstream.close();

    const late = await browserGet(callback);
    check('get', CALLBACK, late, 502);
    expect(late.body.error).toBe('upstream_unavailable');
    const refresh = await user.call.post('/integrations/google/token', { purpose: 'oa-down', force_refresh: true });
    check('post', TOKEN, refresh, 502);
    expect(refresh.body.error).toBe('upstream_unavailable');
    // "microsoft" was not used in this file, so its discovery document is not cached: discovery fails.
    const discovery = await user.call.post('/integrations/microsoft/authorize', {});
    check('post', '/integrations/{provider}/authorize', discovery, 502);
    expect(discovery.body.error).toBe('upstream_unavailable');
    const lwaDown = await api(server).post('/integrations/amazon-lwa/accept-grant', acceptGrantDirective('any-code', user.token));
    check('post', ACCEPT_GRANT, lwaDown, 502);
    expect(lwaDown.body.error).toBe('upstream_unavailable');
    // Disconnecting still deletes our tokens, and says the provider could not be told.
    const disconnected = await user.call.post('/integrations/google/disconnect', { purpose: 'oa-down' });
    check('post', DISCONNECT, disconnected, 200);
    expect(disconnected.body).toMatchObject({ status: 'revoked', upstream_revocation: 'failed' });
  });
});

describe('Google Cross-Account Protection: real responses match the document', () => {
  const RISC = '/integrations/google/risc';
  /** As Google delivers a SET: no token, the JWT as the body. */
  async function deliver(body: string, contentType = 'application/secevent+jwt'): Promise<ApiResponse> {
    const response = await fetch(`${server.url}${RISC}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text || undefined };
  }
  /** Google's test event, signed with the key of the local JWKS, for the google provider's client_id. */
  const verificationSet = () =>
    new jose.SignJWT({ events: { [RISC_EVENTS.verification]: { state: rand() } } })
      .setProtectedHeader({ alg: 'RS256', kid: RISC_KID, typ: 'secevent+jwt' })
      .setIssuer(RISC_ISSUER)
      .setAudience(world.upstream.clientId)
      .setIssuedAt(Math.floor(server.context.clock() / 1000))
      .setJti(randomUUID())
      .sign(riscKey);

  test('refused, too large, wrong media type, keys unavailable, accepted', async () => {
    const garbage = await deliver('not-a-jwt');
    check('post', RISC, garbage, 400);
    expect(garbage.body).toMatchObject({ err: 'invalid_request', error: 'invalid_request' });
    check('post', RISC, await deliver(''), 400);
    check('post', RISC, await deliver('a'.repeat(RISC_BODY_LIMIT + 1)), 413);
    check('post', RISC, await deliver('not-a-jwt', 'image/png'), 415);

    const set = await verificationSet();
    jwksDown = true;
    try {
      const unavailable = await deliver(set);
      check('post', RISC, unavailable, 503);
      expect(unavailable.body.error).toBe('temporarily_unavailable');
    } finally {
      jwksDown = false;
    }
    check('post', RISC, await deliver(set), 202);
    // The same SET again is a replay: accepted, nothing done.
    check('post', RISC, await deliver(set), 202);
  });
});

describe('coverage', () => {
  test('every documented response was produced and validated above', () => {
    const documented = documentedOperations().flatMap(({ method, path, operation }) =>
      Object.keys(operation.responses).map((status) => `${method.toUpperCase()} ${path} ${status}`),
    );
    expect(documented.filter((response) => !covered.has(response))).toEqual([]);
  });
});
