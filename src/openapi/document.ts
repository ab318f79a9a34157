import { z } from 'zod';
import { responseSchemas } from './schemas.js';
import { operations } from './operations.js';
import { queryNotes, requestNotes, requestSchemas, type Audience, type JsonSchema, type OperationSpec } from './requests.js';

/**
 * The OpenAPI 3.1 document of the JSON APIs (/admin, /account; /integrations joins when it is mounted).
 * Request bodies and query parameters are generated from the zod schemas the handlers validate with;
 * response bodies from src/openapi/schemas.ts. test/openapi.test.ts checks it against the mounted routers
 * and against real responses, so a route or a field cannot drift away from it silently.
 * OpenAPI 3.1: https://spec.openapis.org/oas/v3.1.1 ; zod → JSON Schema: https://zod.dev/json-schema
 */

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

