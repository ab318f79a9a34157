import { z } from 'zod';
import { createClientBody, updateClientBody } from '../admin/clients.js';
import { createInitialAccessTokenBody } from '../admin/initial-access-tokens.js';
import { createResourceBody } from '../admin/resources.js';
import { createUserBody, updateUserBody } from '../admin/users.js';
import { createWorkspaceBody, updateWorkspaceBody } from '../admin/workspaces.js';
import type { ResponseSchemaName } from './schemas.js';

/** Shapes of the documented operations, and the handlers' request schemas by component name. */
export type JsonSchema = Record<string, unknown>;
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Audience = 'admin' | 'account';

/** Request bodies, by component name: the handlers' own zod schemas. */
export const requestSchemas = {
  CreateClientRequest: createClientBody,
  UpdateClientRequest: updateClientBody,
  CreateUserRequest: createUserBody,
  UpdateUserRequest: updateUserBody,
  CreateWorkspaceRequest: createWorkspaceBody,
  UpdateWorkspaceRequest: updateWorkspaceBody,
  CreateResourceServerRequest: createResourceBody,
  CreateInitialAccessTokenRequest: createInitialAccessTokenBody,
} satisfies Record<string, z.ZodType>;
export type RequestSchemaName = keyof typeof requestSchemas;

/** What zod's checks (`refine`, `superRefine`) enforce beyond what JSON Schema can say. */
export const requestNotes: Partial<Record<RequestSchemaName, string>> = {
  CreateClientRequest:
    'RFC 7591 client metadata. Keys not listed pass through to oidc-provider, which validates them as it does for a ' +
    'registered client. Defaults: `grant_types` ["authorization_code"], `response_types` ["code"], ' +
    '`token_endpoint_auth_method` "client_secret_basic", `scope` "openid profile email offline_access", ' +
    '`workspace_id` "default". Refused (set by the server): `client_secret`, `client_secret_expires_at`, ' +
    '`client_id_issued_at`, `registration_access_token`, `registration_client_uri`. `profile` "alexa" (with `alexa_vendor_id`) ' +
    'or "google" (with `google_project_id`) fills in that platform\'s redirect URIs and token rules (docs/voice-linking.md). ' +
    '`role_map` maps our role names to this client\'s (claim `roles`); `token_exchange_audiences` lists the resource ' +
    'servers this confidential client may exchange user tokens for (RFC 8693). The `admin` scope ' +
    'is only for clients whose only grant type is `client_credentials`.',
  UpdateClientRequest:
    'Merged over the stored metadata; `null` removes a key. `client_id` and the server-set keys cannot be changed. ' +
    'When the change makes the client need a secret it has not got, one is issued and returned once.',
  UpdateUserRequest: 'At least one field.',
  CreateResourceServerRequest: '`identifier`: an absolute URI without a fragment (RFC 8707).',
};

export const queryNotes: Record<string, string> = {
  limit: 'page size',
  cursor: 'the `next_cursor` of the previous page',
  workspace_id: 'only this workspace',
  type: 'only events of this type',
  client_id: 'only events about this client',
  account_id: 'only events about this user',
  actor: 'only events by this actor (`user:<id>`, `client:<client_id>`, `system`)',
  since: 'only events at or after this time',
};

export interface ErrorSpec {
  codes: string[];
  description: string;
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
  query?: z.ZodType;
  body?: RequestSchemaName;
  success: { status: number; description: string; schema?: ResponseSchemaName };
  /** 401 and 403 are added from `audience`; 404 `not_found` is `notFound`. */
  badRequest?: ErrorSpec;
  notFound?: string;
  conflict?: ErrorSpec;
}

export const invalidRequest = (description: string, ...more: string[]): ErrorSpec => ({ codes: ['invalid_request', ...more], description });

