import { z } from 'zod';
import { auditQuery } from '../admin/audit.js';
import { createClientBody, listClientsQuery, updateClientBody } from '../admin/clients.js';
import { createInitialAccessTokenBody } from '../admin/initial-access-tokens.js';
import { createResourceBody } from '../admin/resources.js';
import { createUserBody, listUsersQuery, updateUserBody } from '../admin/users.js';
import { createWorkspaceBody, updateWorkspaceBody } from '../admin/workspaces.js';
import { pageQuery } from '../http/pagination.js';
import { responseSchemas, type ResponseSchemaName } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the JSON APIs (/admin, /account; /integrations joins when it is mounted).
 * Request bodies and query parameters are generated from the zod schemas the handlers validate with;
 * response bodies from src/openapi/schemas.ts. test/openapi.test.ts checks it against the mounted routers
 * and against real responses, so a route or a field cannot drift away from it silently.
 * OpenAPI 3.1: https://spec.openapis.org/oas/v3.1.1 ; zod → JSON Schema: https://zod.dev/json-schema
 */

type JsonSchema = Record<string, unknown>;
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Audience = 'admin' | 'account';

/** Request bodies, by component name: the handlers' own zod schemas. */
const requestSchemas = {
  CreateClientRequest: createClientBody,
  UpdateClientRequest: updateClientBody,
  CreateUserRequest: createUserBody,
  UpdateUserRequest: updateUserBody,
  CreateWorkspaceRequest: createWorkspaceBody,
  UpdateWorkspaceRequest: updateWorkspaceBody,
  CreateResourceServerRequest: createResourceBody,
  CreateInitialAccessTokenRequest: createInitialAccessTokenBody,
} satisfies Record<string, z.ZodType>;
type RequestSchemaName = keyof typeof requestSchemas;

/** What zod's checks (`refine`, `superRefine`) enforce beyond what JSON Schema can say. */
const requestNotes: Partial<Record<RequestSchemaName, string>> = {
  CreateClientRequest:
    'RFC 7591 client metadata. Keys not listed pass through to oidc-provider, which validates them as it does for a ' +
    'registered client. Defaults: `grant_types` ["authorization_code"], `response_types` ["code"], ' +
    '`token_endpoint_auth_method` "client_secret_basic", `scope` "openid profile email offline_access", ' +
    '`workspace_id` "default". Refused (set by the server): `client_secret`, `client_secret_expires_at`, ' +
    '`client_id_issued_at`, `registration_access_token`, `registration_client_uri`. Not supported by this version: ' +
    '`profile`, `alexa_vendor_id`, `google_project_id`, `role_map`, `token_exchange_audiences`. The `admin` scope ' +
    'is only for clients whose only grant type is `client_credentials`.',
  UpdateClientRequest:
    'Merged over the stored metadata; `null` removes a key. `client_id` and the server-set keys cannot be changed. ' +
    'When the change makes the client need a secret it has not got, one is issued and returned once.',
  UpdateUserRequest: 'At least one field.',
  CreateResourceServerRequest: '`identifier`: an absolute URI without a fragment (RFC 8707).',
};

const queryNotes: Record<string, string> = {
  limit: 'page size',
  cursor: 'the `next_cursor` of the previous page',
  workspace_id: 'only this workspace',
  type: 'only events of this type',
  client_id: 'only events about this client',
  account_id: 'only events about this user',
  actor: 'only events by this actor (`user:<id>`, `client:<client_id>`, `system`)',
  since: 'only events at or after this time',
};

interface ErrorSpec {
  codes: string[];
  description: string;
}

interface OperationSpec {
  method: Method;
  /** OpenAPI style: `/admin/clients/{id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  audience: Audience;
  query?: z.ZodType;
  body?: RequestSchemaName;
  success: { status: number; description: string; schema?: ResponseSchemaName };
  /** 401 and 403 are added from `audience`; 404 `not_found` is `notFound`. */
  badRequest?: ErrorSpec;
  notFound?: string;
  conflict?: ErrorSpec;
}

const invalidRequest = (description: string, ...more: string[]): ErrorSpec => ({ codes: ['invalid_request', ...more], description });

const operations: OperationSpec[] = [
  // Clients
  {
    method: 'post',
    path: '/admin/clients',
    operationId: 'createClient',
    tag: 'Clients',
    summary: 'Register a client',
    audience: 'admin',
    body: 'CreateClientRequest',
    success: { status: 201, description: 'The client as GET returns it, plus `client_secret` once for a confidential client.', schema: 'ClientWithSecret' },
    badRequest: invalidRequest('Bad metadata or a malformed body.', 'invalid_client_metadata', 'invalid_redirect_uri'),
    conflict: { codes: ['client_id_taken'], description: 'The requested `client_id` is taken.' },
  },
  {
    method: 'get',
    path: '/admin/clients',
    operationId: 'listClients',
    tag: 'Clients',
    summary: 'List clients',
    audience: 'admin',
    query: listClientsQuery,
    success: { status: 200, description: 'One page of clients, by client_id.', schema: 'ClientList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
  },
  {
    method: 'get',
    path: '/admin/clients/{id}',
    operationId: 'getClient',
    tag: 'Clients',
    summary: 'Read a client (never its secret)',
    audience: 'admin',
    success: { status: 200, description: 'The client.', schema: 'Client' },
    notFound: 'No such client.',
  },
  {
    method: 'patch',
    path: '/admin/clients/{id}',
    operationId: 'updateClient',
    tag: 'Clients',
    summary: 'Change a client',
    audience: 'admin',
    body: 'UpdateClientRequest',
    success: { status: 200, description: 'The changed client, plus `client_secret` once when the change issued one.', schema: 'ClientWithSecret' },
    badRequest: invalidRequest('Bad metadata or a malformed body.', 'invalid_client_metadata', 'invalid_redirect_uri'),
    notFound: 'No such client.',
  },
  {
    method: 'delete',
    path: '/admin/clients/{id}',
    operationId: 'deleteClient',
    tag: 'Clients',
    summary: 'Delete a client; its grants and tokens die with it',
    audience: 'admin',
    success: { status: 204, description: 'Deleted.' },
    notFound: 'No such client.',
  },
  {
    method: 'post',
    path: '/admin/clients/{id}/secret',
    operationId: 'rotateClientSecret',
    tag: 'Clients',
    summary: 'Rotate the client secret',
    description: 'The old secret stops working at once. The new one is returned once.',
    audience: 'admin',
    success: { status: 200, description: 'The new secret.', schema: 'ClientSecret' },
    badRequest: invalidRequest('The client authenticates without a secret.'),
    notFound: 'No such client.',
  },
  // Users
  {
    method: 'post',
    path: '/admin/users',
    operationId: 'createUser',
    tag: 'Users',
    summary: 'Create a user',
    audience: 'admin',
    body: 'CreateUserRequest',
    success: { status: 201, description: 'The user (its `id` among the fields).', schema: 'User' },
    badRequest: invalidRequest('A bad field, a malformed body or an unknown workspace.'),
    conflict: { codes: ['email_taken'], description: 'The email is taken.' },
  },
  {
    method: 'get',
    path: '/admin/users',
    operationId: 'listUsers',
    tag: 'Users',
    summary: 'List users',
    audience: 'admin',
    query: listUsersQuery,
    success: { status: 200, description: 'One page of users, by id.', schema: 'UserList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
  },
  {
    method: 'get',
    path: '/admin/users/{id}',
    operationId: 'getUser',
    tag: 'Users',
    summary: 'Read a user',
    audience: 'admin',
    success: { status: 200, description: 'The user.', schema: 'User' },
    notFound: 'No such user.',
  },
  {
    method: 'patch',
    path: '/admin/users/{id}',
    operationId: 'updateUser',
    tag: 'Users',
    summary: 'Change a user (name, password, roles, email_verified)',
    audience: 'admin',
    body: 'UpdateUserRequest',
    success: { status: 200, description: 'The changed user.', schema: 'User' },
    badRequest: invalidRequest('A bad field, nothing to change or a malformed body.'),
    notFound: 'No such user.',
  },
  {
    method: 'delete',
    path: '/admin/users/{id}',
    operationId: 'deleteUser',
    tag: 'Users',
    summary: 'Delete a user; their grants, tokens and sessions die with them',
    audience: 'admin',
    success: { status: 204, description: 'Deleted.' },
    notFound: 'No such user.',
  },
  // Workspaces
  {
    method: 'post',
    path: '/admin/workspaces',
    operationId: 'createWorkspace',
    tag: 'Workspaces',
    summary: 'Create a workspace (tenant)',
    audience: 'admin',
    body: 'CreateWorkspaceRequest',
    success: { status: 201, description: 'The workspace.', schema: 'Workspace' },
    badRequest: invalidRequest('A bad field or a malformed body.'),
    conflict: { codes: ['workspace_exists'], description: 'A workspace with this id exists.' },
  },
  {
    method: 'get',
    path: '/admin/workspaces',
    operationId: 'listWorkspaces',
    tag: 'Workspaces',
    summary: 'List workspaces',
    audience: 'admin',
    query: pageQuery,
    success: { status: 200, description: 'One page of workspaces, by id.', schema: 'WorkspaceList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
  },
  {
    method: 'get',
    path: '/admin/workspaces/{id}',
    operationId: 'getWorkspace',
    tag: 'Workspaces',
    summary: 'Read a workspace',
    audience: 'admin',
    success: { status: 200, description: 'The workspace.', schema: 'Workspace' },
    notFound: 'No such workspace.',
  },
  {
    method: 'patch',
    path: '/admin/workspaces/{id}',
    operationId: 'updateWorkspace',
    tag: 'Workspaces',
    summary: 'Rename a workspace',
    audience: 'admin',
    body: 'UpdateWorkspaceRequest',
    success: { status: 200, description: 'The changed workspace.', schema: 'Workspace' },
    badRequest: invalidRequest('A bad field or a malformed body.'),
    notFound: 'No such workspace.',
  },
  {
    method: 'delete',
    path: '/admin/workspaces/{id}',
    operationId: 'deleteWorkspace',
    tag: 'Workspaces',
    summary: 'Delete an empty workspace',
    audience: 'admin',
    success: { status: 204, description: 'Deleted.' },
    notFound: 'No such workspace.',
    conflict: { codes: ['workspace_protected', 'workspace_not_empty'], description: 'The `default` workspace, or one that still has users, clients or resource servers.' },
  },
  // Resource servers
  {
    method: 'post',
    path: '/admin/resources',
    operationId: 'createResourceServer',
    tag: 'Resource servers',
    summary: 'Register a resource server (an API with its own audience, RFC 8707)',
    audience: 'admin',
    body: 'CreateResourceServerRequest',
    success: { status: 201, description: 'The resource server.', schema: 'ResourceServer' },
    badRequest: invalidRequest('A bad field, a malformed body or an unknown workspace.'),
    conflict: { codes: ['resource_exists'], description: 'A resource server with this identifier exists.' },
  },
  {
    method: 'get',
    path: '/admin/resources',
    operationId: 'listResourceServers',
    tag: 'Resource servers',
    summary: 'List resource servers',
    audience: 'admin',
    query: pageQuery,
    success: { status: 200, description: 'One page of resource servers, by id.', schema: 'ResourceServerList' },
    badRequest: invalidRequest('A bad `limit` or `cursor`.'),
  },
  {
    method: 'delete',
    path: '/admin/resources/{id}',
    operationId: 'deleteResourceServer',
    tag: 'Resource servers',
    summary: 'Delete a resource server',
    audience: 'admin',
    success: { status: 204, description: 'Deleted.' },
    notFound: 'No such resource server.',
  },
  // Initial access tokens
  {
    method: 'post',
    path: '/admin/initial-access-tokens',
    operationId: 'createInitialAccessToken',
    tag: 'Dynamic registration',
    summary: 'Issue an initial access token for RFC 7591 dynamic registration',
    audience: 'admin',
    body: 'CreateInitialAccessTokenRequest',
    success: { status: 201, description: 'The token (shown once) and where to register with it.', schema: 'InitialAccessToken' },
    badRequest: invalidRequest('A bad `expires_in` or a malformed body.'),
  },
  // Audit
  {
    method: 'get',
    path: '/admin/audit',
    operationId: 'listAuditEvents',
    tag: 'Audit',
    summary: 'Audit events, newest first',
    audience: 'admin',
    query: auditQuery,
    success: { status: 200, description: 'One page of events, newest first.', schema: 'AuditEventList' },
    badRequest: invalidRequest('A bad filter, `limit` or `cursor`.'),
  },
  // Account
  {
    method: 'get',
    path: '/account/grants',
    operationId: 'listAccountGrants',
    tag: 'Account',
    summary: 'The apps this user authorized',
    description: 'All of them in one page (`next_cursor` is always `null`).',
    audience: 'account',
    success: { status: 200, description: 'The grants of the token’s user.', schema: 'GrantList' },
  },
  {
    method: 'delete',
    path: '/account/grants/{grantId}',
    operationId: 'revokeAccountGrant',
    tag: 'Account',
    summary: 'Revoke one grant (unlink an app, device or voice assistant)',
    description: 'Every token of the grant is inactive at introspection at once, including the one making this call when it belongs to that grant.',
    audience: 'account',
    success: { status: 204, description: 'Revoked.' },
    notFound: 'The user holds no such grant.',
  },
];

const tags = [
  { name: 'Clients', description: 'OAuth / OIDC clients (relying parties).' },
  { name: 'Users', description: 'End users, one workspace each.' },
  { name: 'Workspaces', description: 'Tenants; `default` always exists.' },
  { name: 'Resource servers', description: 'APIs with their own audience, for `resource=` and token exchange.' },
  { name: 'Dynamic registration', description: 'Initial access tokens for RFC 7591 registration at the discovered `registration_endpoint`.' },
  { name: 'Audit', description: 'The audit log.' },
  { name: 'Account', description: 'The signed-in user’s own grants.' },
];

const scheme: Record<Audience, { role: string; text: string }> = {
  admin: { role: 'admin', text: 'an access token of this server with scope `admin` (client_credentials grant of a client whose metadata lists `admin`)' },
  account: { role: 'account', text: 'a user access token of this server with scope `account` (authorization code grant)' },
};

const ref = (kind: 'schemas' | 'responses' | 'headers', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorWith = (codes: string[]): JsonSchema => ({ ...ref('schemas', 'Error'), properties: { error: codes.length === 1 ? { const: codes[0] } : { enum: codes } } });

/** zod's date-time regex only restates `format: date-time` (RFC 3339) at great length. */
const conversion = {
  target: 'draft-2020-12',
  // refine/superRefine are not representable; they are described in prose (requestNotes).
  unrepresentable: 'any',
  override: ({ jsonSchema }: { jsonSchema: JsonSchema }) => {
    if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
  },
} as const;

/** Converts named zod schemas into `components.schemas`; schemas that use one another become `$ref`s. */
function toComponents(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, { ...conversion, io, uri: (id) => `#/components/schemas/${id}` }).schemas as Record<string, JsonSchema>;
  const out: Record<string, JsonSchema> = {};
  for (const [id, schema] of Object.entries(converted)) {
    // A fragment-only `$id` is not allowed in 2020-12; the `$ref`s are document-relative already.
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    out[id] = rest;
  }
  return out;
}

function queryParameters(schema: z.ZodType): JsonSchema[] {
  const converted = z.toJSONSchema(schema, { ...conversion, io: 'input' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(converted.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: converted.required?.includes(name) ?? false,
    ...(queryNotes[name] ? { description: queryNotes[name] } : {}),
    schema: property,
  }));
}

function pathParameters(path: string): JsonSchema[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

function operationObject(op: OperationSpec): JsonSchema {
  const responses: Record<string, unknown> = {
    [op.success.status]: {
      description: op.success.description,
      ...(op.success.schema ? { content: json(ref('schemas', op.success.schema)) } : {}),
    },
  };
  if (op.badRequest) responses['400'] = { description: op.badRequest.description, content: json(errorWith(op.badRequest.codes)) };
  responses['401'] = ref('responses', 'Unauthorized');
  responses['403'] = ref('responses', 'Forbidden');
  if (op.notFound) responses['404'] = { description: op.notFound, content: json(errorWith(['not_found'])) };
  if (op.conflict) responses['409'] = { description: op.conflict.description, content: json(errorWith(op.conflict.codes)) };

  const parameters = [...pathParameters(op.path), ...(op.query ? queryParameters(op.query) : [])];
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    security: [{ bearer: [scheme[op.audience].role] }],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: true, content: json(ref('schemas', op.body)) } } : {}),
    responses,
  };
}

/** The whole document; `issuer` is the server URL every path is relative to. */
export function buildOpenApiDocument(issuer: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) (paths[op.path] ??= {})[op.method] = operationObject(op);

  const requests = toComponents(requestSchemas, 'input');
  for (const [name, note] of Object.entries(requestNotes)) if (requests[name]) requests[name] = { description: note, ...requests[name] };

  const discovery = new URL('/.well-known/openid-configuration', issuer).href;
  return {
    openapi: '3.1.1',
    info: {
      title: 'oauth-hub JSON APIs',
      version: '1',
      description:
        'The admin API (`/admin`) and the account API (`/account`) of this authorization server. The OAuth 2.0 / ' +
        `OpenID Connect endpoints (authorization, token, introspection, revocation, userinfo, registration, JWKS) are not ` +
        `described here: find them in the discovery document at ${discovery} . Every error is ` +
        '`{ "error", "error_description" }`; every list is `{ "items", "next_cursor" }` with `limit` and `cursor`.',
    },
    servers: [{ url: issuer }],
    tags,
    paths,
    components: {
      schemas: { ...toComponents(responseSchemas, 'output'), ...requests },
      headers: {
        WWWAuthenticate: {
          description: 'RFC 6750 §3 challenge, e.g. `Bearer realm="admin", error="invalid_token"`.',
          required: true,
          schema: { type: 'string' },
        },
      },
      responses: {
        Unauthorized: {
          description: 'No bearer token, or one that is invalid, expired or revoked.',
          headers: { 'WWW-Authenticate': ref('headers', 'WWWAuthenticate') },
          content: json(errorWith(['invalid_token'])),
        },
        Forbidden: {
          description: 'The token lacks the scope this API needs, or is the wrong kind (a user token on /admin, a client token on /account).',
          content: json(errorWith(['insufficient_scope'])),
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: `An opaque access token from this server's token endpoint (see ${discovery}). /admin needs ${scheme.admin.text}; /account needs ${scheme.account.text}.`,
        },
      },
    },
  };
}

