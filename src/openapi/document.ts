import { z } from 'zod';
import { responseSchemas, type ResponseSchemaName } from './schemas.js';
import { operations } from './operations.js';
import { pathParameterNotes, queryNotes, requestNotes, requestSchemas, type Audience, type ErrorSpec, type JsonSchema, type OperationSpec, type SuccessSpec } from './requests.js';

/**
 * The OpenAPI 3.1 document of the JSON APIs (/admin, /account, /integrations).
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
  {
    name: 'Integrations',
    description:
      'The OAuth consumer: accounts linked at other providers (Google, Microsoft, Notion, …), their access tokens, and the ' +
      'workspace’s mailboxes. Any access token of this server; the token decides the actor (`user:<sub>` for a user token, ' +
      '`api_key:<client_id>` for a client_credentials token, in that user’s or client’s workspace). A connection is one per ' +
      'workspace, actor, provider and `purpose` (default `default`).',
  },
];

/** The scope each API needs of every token (none for /integrations: any access token of this server), and in prose. */
const scheme: Record<Audience, { scope?: string; text: string }> = {
  admin: { scope: 'admin', text: 'an access token of this server with scope `admin` (client_credentials grant of a client whose metadata lists `admin`)' },
  account: { scope: 'account', text: 'a user access token of this server with scope `account` (authorization code grant)' },
  integrations: {
    text:
      'any access token of this server (a user token acts as `user:<sub>`, a client_credentials token as `api_key:<client_id>`); ' +
      '`POST /integrations/{provider}/token` also needs scope `integrations:token`',
  },
};

const ref = (kind: 'schemas' | 'responses' | 'headers', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });
const errorWith = (codes: string[], open = false, schema: ResponseSchemaName = 'Error'): JsonSchema => ({
  ...ref('schemas', schema),
  properties: { error: open ? { type: 'string', examples: codes } : codes.length === 1 ? { const: codes[0] } : { enum: codes } },
});
const text = (description: string) => ({ schema: { type: 'string', description } });

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
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name = '']) => {
    const note = Object.hasOwn(pathParameterNotes, name) ? pathParameterNotes[name] : undefined;
    let schema: JsonSchema = { type: 'string' };
    if (note?.schema) {
      const { $schema: _dialect, ...converted } = z.toJSONSchema(note.schema, { ...conversion, io: 'input' }) as JsonSchema;
      schema = converted;
    }
    return { name, in: 'path', required: true, ...(note ? { description: note.description } : {}), schema };
  });
}

function operationObject(op: OperationSpec): JsonSchema {
  const requiredScope = op.scope ?? scheme[op.audience].scope;
  const successHeaders = {
    ...(op.noStore ? { 'Cache-Control': ref('headers', 'NoStore') } : {}),
    ...(op.noStore === 'pragma' ? { Pragma: ref('headers', 'PragmaNoCache') } : {}),
  };
  const success = (spec: SuccessSpec) => ({
    description: spec.description,
    ...(Object.keys(successHeaders).length ? { headers: successHeaders } : {}),
    ...(spec.schema ? { content: json(ref('schemas', spec.schema)) } : {}),
  });
  // The caller of a browser-facing route may ask for HTML; errors then come as a page (src/http/errors.ts).
  const error = (description: string, schema: JsonSchema, headers?: Record<string, unknown>) => ({
    description,
    ...(headers ? { headers } : {}),
    content: { ...json(schema), ...(op.htmlErrors ? { 'text/html': text('an error page, for a browser that asks for HTML') } : {}) },
  });
  const errorSpec = (spec: ErrorSpec) =>
    error(spec.description, errorWith(spec.codes, spec.open, spec.schema), spec.retryAfter ? { 'Retry-After': ref('headers', 'RetryAfter') } : undefined);

  const responses: Record<string, unknown> = { [op.success.status]: success(op.success) };
  if (op.alsoSuccess) responses[op.alsoSuccess.status] = success(op.alsoSuccess);
  if (op.redirect) {
    responses['303'] = {
      description: op.redirect,
      headers: {
        Location: { description: 'where the browser goes next', required: true, schema: { type: 'string', format: 'uri' } },
        ...successHeaders,
      },
      content: { 'text/html': text('`Redirecting to <url>.`'), 'text/plain': text('`Redirecting to <url>.`') },
    };
  }
  if (op.badRequest) responses['400'] = errorSpec(op.badRequest);
  if (!op.noBearer) {
    responses['401'] = ref('responses', 'Unauthorized');
    if (op.audience !== 'integrations') responses['403'] = ref('responses', 'Forbidden');
    else if (op.scope) {
      responses['403'] = {
        description: `The token lacks scope \`${op.scope}\`.`,
        headers: { 'WWW-Authenticate': ref('headers', 'WWWAuthenticate') },
        content: json(errorWith(['insufficient_scope'])),
      };
    }
  }
  if (op.notFound) responses['404'] = error(op.notFound, errorWith(['not_found']));
  if (op.conflict) responses['409'] = errorSpec(op.conflict);
  if (op.badGateway) responses['502'] = error(op.badGateway, errorWith(['upstream_unavailable']));
  for (const [status, spec] of Object.entries(op.moreErrors ?? {})) if (spec) responses[status] = errorSpec(spec);

  const parameters = [...pathParameters(op.path), ...(op.query ? queryParameters(op.query) : [])];
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    // `[]`: no authentication at all (the provider's redirect); `bearer: []`: any access token of this server.
    security: op.noBearer ? [] : [{ bearer: requiredScope ? [requiredScope] : [] }],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? { requestBody: { required: !op.bodyOptional, content: json(ref('schemas', op.body)) } } : {}),
    ...(op.rawBody ? { requestBody: { required: true, content: { [op.rawBody.mediaType]: text(op.rawBody.description) } } } : {}),
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
        'The admin API (`/admin`), the account API (`/account`) and the integrations API (`/integrations`, the OAuth ' +
        'consumer) of this authorization server. The OAuth 2.0 / ' +
        `OpenID Connect endpoints (authorization, token, introspection, revocation, userinfo, registration, JWKS) are not ` +
        `described here: find them in the discovery document at ${discovery} . Every error is ` +
        '`{ "error", "error_description" }` (the RISC receiver’s adds RFC 8935’s `err` and `description`); every list is `{ "items", "next_cursor" }` with `limit` and `cursor`.',
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
        NoStore: {
          description: 'The response holds tokens or per-caller state: never cached (RFC 9111).',
          required: true,
          schema: { const: 'no-store' },
        },
        RetryAfter: {
          description: 'Seconds to wait before trying again (RFC 9110 §10.2.3).',
          required: true,
          schema: { type: 'string', pattern: '^[0-9]+$' },
        },
        PragmaNoCache: {
          description: 'For HTTP/1.0 caches, as the token endpoint does (RFC 6749 §5.1).',
          required: true,
          schema: { const: 'no-cache' },
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
          description: `An opaque access token from this server's token endpoint (see ${discovery}). /admin needs ${scheme.admin.text}; /account needs ${scheme.account.text}; /integrations takes ${scheme.integrations.text}.`,
        },
      },
    },
  };
}

