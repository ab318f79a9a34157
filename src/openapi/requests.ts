import { z } from 'zod';
import { createClientBody, updateClientBody } from '../clients/metadata-schemas.js';
import { createInitialAccessTokenBody } from '../admin/initial-access-tokens.js';
import { createResourceBody } from '../admin/resources.js';
import { createUserBody, updateUserBody } from '../admin/users.js';
import { createWebhookBody } from '../admin/webhooks.js';
import { createWorkspaceBody, updateWorkspaceBody } from '../admin/workspaces.js';
import { mailboxBody, purposeParam } from '../integrations/mailboxes.js';
import { authorizeBody, purposeBody, tokenBody } from '../integrations/routes.js';
import { acceptGrantBody } from '../integrations/alexa/directive.js';
import type { ResponseSchemaName } from './schemas.js';

/** Shapes of the documented operations, and the handlers' request schemas by component name. */
export type JsonSchema = Record<string, unknown>;
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Audience = 'admin' | 'account' | 'integrations';

/** Request bodies, by component name: the handlers' own zod schemas. */
export const requestSchemas = {
  CreateClientRequest: createClientBody,
  UpdateClientRequest: updateClientBody,
  CreateUserRequest: createUserBody,
  UpdateUserRequest: updateUserBody,
  CreateWorkspaceRequest: createWorkspaceBody,
  UpdateWorkspaceRequest: updateWorkspaceBody,
  CreateResourceServerRequest: createResourceBody,
  CreateWebhookRequest: createWebhookBody,
  CreateInitialAccessTokenRequest: createInitialAccessTokenBody,
  AuthorizeRequest: authorizeBody,
  TokenRequest: tokenBody,
  DisconnectRequest: purposeBody,
  MailboxRequest: mailboxBody,
  AcceptGrantRequest: acceptGrantBody,
} satisfies Record<string, z.ZodType>;
export type RequestSchemaName = keyof typeof requestSchemas;

/** What zod's checks (`refine`, `superRefine`) enforce beyond what JSON Schema can say. */
export const requestNotes: Partial<Record<RequestSchemaName, string>> = {
  CreateClientRequest:
    'RFC 7591 / OpenID Connect Registration client metadata, validated by oidc-provider as it does for a registered ' +
    'client. Only the keys listed here are accepted: any other key is refused (400 `invalid_client_metadata` naming it). ' +
    'Defaults: `grant_types` ["authorization_code"], `response_types` ["code"] when `grant_types` includes ' +
    '"authorization_code", else [] (a client_credentials client needs no `redirect_uris`), ' +
    '`token_endpoint_auth_method` "client_secret_basic", `scope` "openid profile email offline_access", ' +
    '`workspace_id` "default". Refused (set by the server): `client_secret`, `client_secret_expires_at`, ' +
    '`client_id_issued_at`, `registration_access_token`, `registration_client_uri`. `profile` "alexa" (with `alexa_vendor_id`) ' +
    'or "google" (with `google_project_id`) fills in that platform\'s redirect URIs and token rules (docs/voice-linking.md); ' +
    'such a client keeps to its platform\'s grant types, response type `code` and a client secret. ' +
    '`role_map` maps our role names to this client\'s (claim `roles`), at most 100 entries; `token_exchange_audiences` lists the resource ' +
    'servers this confidential client may exchange user tokens for (RFC 8693), each an identifier of the form ' +
    '`POST /admin/resources` takes (an absolute https, http or urn URI, no credentials, no fragment). `grant_types`, when ' +
    'sent, lists at least one grant type. `backchannel_logout_uri` has no fragment (OpenID Back-Channel Logout 1.0 §2.2); ' +
    '`redirect_uris` (RFC 6749 §3.1.2) and `post_logout_redirect_uris` have none either. The `admin` scope ' +
    'is only for clients whose only grant type is `client_credentials`.',
  UpdateClientRequest:
    'Merged over the stored metadata; `null` removes a key. The read-only keys a GET shows are ignored, so a GET\'s body ' +
    'can be sent back: `created_at` and `updated_at` whatever their value, `client_id`, `client_id_issued_at`, ' +
    '`client_secret_expires_at`, `profile`, `alexa_vendor_id` and `google_project_id` when sent with their current value ' +
    '(another value is a 400 `invalid_client_metadata` naming the key). `client_secret`, the `registration_*` keys and keys not listed are ' +
    'refused (400 `invalid_client_metadata` naming them). The values obey the same rules as on create (e.g. `grant_types` ' +
    'not empty, `role_map` at most 100 entries); a refused change changes nothing. ' +
    'When the change makes the client need a secret it has not got, one is issued and returned once.',
  CreateUserRequest: '`roles`: a role listed twice is stored once.',
  UpdateUserRequest:
    'At least one field. `roles` replaces the user\'s roles; a role listed twice is stored once. `password` is write-only ' +
    '(never returned). The read-only keys a GET shows are ignored, so a GET\'s body can be sent back: `created_at` and ' +
    '`updated_at` whatever their value, `id`, `email` and `workspace_id` when sent with their current value (another value ' +
    'is a 400 `invalid_request` naming the key). Keys not listed are refused.',
  UpdateWorkspaceRequest:
    'The read-only keys a GET shows are ignored, so a GET\'s body can be sent back: `created_at` and `updated_at` whatever ' +
    'their value, `id` when sent with its current value (another value is a 400 `invalid_request` naming it). Keys not ' +
    'listed are refused.',
  CreateResourceServerRequest:
    '`identifier`: the audience of its tokens, an absolute https, http or urn URI without credentials or fragment ' +
    '(RFC 8707), and not this server\'s issuer. It is stored as given and a `resource` parameter must name it exactly; ' +
    'an identifier that is a registered one spelled differently (RFC 3986 §6.2: scheme and host in another case, a default ' +
    'port, an empty path for `/`, percent-encoding) is refused like the same one (409 `resource_exists`, naming the registered ' +
    'identifier). `scopes`: scope tokens (duplicates are ignored); the ' +
    'server\'s own `openid`, `offline_access`, `account`, `integrations:token` and `admin` are refused (`profile` and ' +
    '`email` are allowed, for token exchange).',
  CreateWebhookRequest:
    '`url`: https, or http only for loopback hosts; no credentials and no fragment. `events`: one or more connection ' +
    'lifecycle events (duplicates are ignored).',
  AuthorizeRequest:
    '`purpose` tells apart several links to one provider (default `default`). `return_to`: where the callback sends the ' +
    'browser afterwards (303), a path or URL on this server\'s own origin only. `scopes` replaces the provider\'s default ' +
    'scopes (e.g. an incremental grant). The whole body may be omitted.',
  TokenRequest:
    '`scopes`: a token for other scopes than the connection\'s own, minted from its refresh token (Microsoft: Graph vs ' +
    'Outlook); it does not replace the stored token. `force_refresh`: refresh even if the current token is still fresh. ' +
    'The whole body may be omitted.',
  DisconnectRequest: 'The whole body may be omitted (purpose `default`).',
  AcceptGrantRequest:
    'The `Alexa.Authorization.AcceptGrant` directive as Alexa sends it to the skill: the whole request (`{ directive }`) ' +
    'or the directive alone. `payload.grant.code`: the LWA authorization code; `payload.grantee.token`: the access token ' +
    'this server issued to the skill at account linking (it names the user).',
  MailboxRequest:
    'The whole setting, replaced. `password` is write-only (stored encrypted, never returned); omit it to keep the stored ' +
    'one, unless the username, a host, a port or a security changes (then it is needed again, or dropped for `oauth2`); ' +
    '`password` and `app_password` need one. `oauth2` needs `connection_id`, an active connection of the caller’s own ' +
    '(from GET /integrations). `security` `none` is allowed only for loopback hosts. `username` and the hosts hold no ' +
    'control characters or line breaks (CR, LF, tab, NEL, U+2028/2029).',
};

export const queryNotes: Record<string, string> = {
  limit: 'page size',
  cursor: 'the `next_cursor` of the previous page',
  workspace_id: 'only this workspace',
  type: 'only events of this type',
  client_id: 'only events about this client',
  account_id: 'only events about this user',
  actor: 'only events by this actor (`user:<id>`, `client:<client_id>`, `system`)',
  request_id: 'only events caused by the request with this `X-Request-Id` (as the response and the access log carry it)',
  since: 'only events at or after this time',
  provider: 'only connections to this provider',
  purpose: 'which of the actor\'s connections to this provider',
};

/** Path parameters: a description each, and a schema where the handler's own zod schema is exported. */
export const pathParameterNotes: Record<string, { description: string; schema?: z.ZodType }> = {
  provider: { description: 'a provider name, as `GET /integrations/providers` lists them (lowercase letters, digits and `-`)' },
  purpose: { description: 'the mailbox purpose, e.g. `booking`, `stopsale`', schema: purposeParam },
  webhookId: { description: 'a webhook subscription id, as POST or GET `/admin/workspaces/{id}/webhooks` return it' },
};

export interface ErrorSpec {
  codes: string[];
  description: string;
  /** Other codes occur too (the provider's own OAuth error codes): `codes` are examples, not the whole list. */
  open?: boolean;
  /** The body's schema when it is not `Error` (the RISC receiver's RFC 8935 error). */
  schema?: ResponseSchemaName;
  /** The response carries `Retry-After` (a 503). */
  retryAfter?: boolean;
}

/** A request body that is not JSON: one string of this media type (a SET, RFC 8935). */
export interface RawBodySpec {
  mediaType: string;
  description: string;
}

export interface SuccessSpec {
  status: number;
  description: string;
  schema?: ResponseSchemaName;
}

export interface OperationSpec {
  method: Method;
  /** OpenAPI style: `/admin/clients/{id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  audience: Audience;
  /**
   * The scope the token needs. /admin and /account need `admin` / `account` (from `audience`); /integrations takes any
   * access token of this server, and one route needs `integrations:token`.
   */
  scope?: string;
  /** Not called with a bearer token (the provider's redirect, authenticated by `state`): no security, no 401/403. */
  noBearer?: boolean;
  query?: z.ZodType;
  body?: RequestSchemaName;
  /** A required non-JSON request body instead of `body`. */
  rawBody?: RawBodySpec;
  /** Every field of `body` is optional, and so is the body itself. */
  bodyOptional?: boolean;
  success: SuccessSpec;
  /** Another success status of the same operation (PUT: 201 created, 200 replaced). */
  alsoSuccess?: SuccessSpec;
  /** A 303 redirect (`Location`) instead of a body. */
  redirect?: string;
  /** The success responses carry `Cache-Control: no-store` (and `Pragma: no-cache` with `pragma`). */
  noStore?: 'cache-control' | 'pragma';
  /** A browser that asks for HTML gets error pages as HTML (the caller is a browser: the provider's redirect). */
  htmlErrors?: boolean;
  /** 401 and 403 are added from `audience` and `scope`; 404 `not_found` is `notFound`; 502 `upstream_unavailable` is `badGateway`. */
  badRequest?: ErrorSpec;
  notFound?: string;
  conflict?: ErrorSpec;
  badGateway?: string;
  /** Errors of a route outside the usual set (the RISC receiver: 413 too large, 415 wrong media type, 503 keys unavailable). */
  moreErrors?: Partial<Record<413 | 415 | 502 | 503, ErrorSpec>>;
}

export const invalidRequest = (description: string, ...more: string[]): ErrorSpec => ({ codes: ['invalid_request', ...more], description });

