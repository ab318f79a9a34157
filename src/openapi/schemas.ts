import { z } from 'zod';
import { AUDIT_TYPES } from '../audit/types.js';
import { CONNECTION_EVENTS } from '../integrations/events.js';
import { timestamp, absent, errorBody, listOf } from './schema-parts.js';
import { providerView, connectionView, acceptGrantResult, acceptGrantError, disconnectResult, authorizationUrl, vendedToken, mailboxView, mailboxCheckView, riscErrorBody } from './integration-schemas.js';

/**
 * Response bodies of /admin, /account and /integrations as zod schemas, the source of the OpenAPI document's response
 * schemas. They describe what the handlers really return (the `to*View` functions next to them); the
 * OpenAPI test calls every operation and checks each body against these. Objects are strict where the
 * handler builds the object field by field, so an extra field (a leaked hash, say) fails the test.
 */

/** src/clients/admin-service.ts `toClientView`: the stored metadata passed through, plus ours. */
export const clientView = z
  .looseObject({
    client_id: z.string(),
    workspace_id: z.string(),
    client_name: z.string().optional(),
    redirect_uris: z.array(z.string()).optional(),
    post_logout_redirect_uris: z.array(z.string()).optional(),
    grant_types: z.array(z.string()).optional(),
    response_types: z.array(z.string()).optional(),
    token_endpoint_auth_method: z.string().optional(),
    scope: z.string().optional().describe('space-separated scopes this client may be granted'),
    first_party: z.boolean().optional(),
    require_pkce: z.boolean().optional(),
    created_at: timestamp,
    updated_at: timestamp,
    client_secret: absent('never returned by a read'),
    secret_hash: absent('never returned'),
    secret_encrypted: absent('never returned'),
    registration_access_token: absent('never returned'),
  })
  .describe('RFC 7591 client metadata as stored (other metadata keys pass through), never the secret.');

/** POST /admin/clients and PATCH /admin/clients/:id: the view, plus a secret when one was just issued. */
export const clientWithSecret = clientView
  .extend({
    client_secret: z.string().optional().describe('present only when a secret was issued by this call; shown once'),
  })
  .describe('The client as GET returns it, plus `client_secret` once when this call issued one.');

export const clientSecret = z.strictObject({ client_secret: z.string().describe('the new secret; shown once') });

/** src/accounts/admin-service.ts `toUserView`. */
export const userView = z.strictObject({
  id: z.string(),
  email: z.string(),
  email_verified: z.boolean(),
  name: z.string().nullable(),
  workspace_id: z.string(),
  roles: z.array(z.string()),
  created_at: timestamp,
  updated_at: timestamp,
});

/** src/admin/workspaces.ts `toWorkspaceView`. */
export const workspaceView = z.strictObject({
  id: z.string(),
  name: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
});

/** src/admin/resources.ts `toResourceView`. */
export const resourceView = z.strictObject({
  id: z.string().describe('server-assigned UUID; the `{id}` of DELETE'),
  identifier: z.string().describe('the audience (`aud`) of its tokens, as sent in `resource=`'),
  workspace_id: z.string(),
  scopes: z.array(z.string()),
  access_token_ttl: z.number().int().nullable().describe('seconds; `null`: the server default'),
  created_at: timestamp,
});

/** POST /admin/initial-access-tokens (src/admin/initial-access-tokens.ts). */
export const initialAccessToken = z.strictObject({
  initial_access_token: z
    .string()
    .describe('bearer token for RFC 7591 registrations at `registration_endpoint`: each use registers one client, and it may be used again until `expires_at`; shown once'),
  expires_at: timestamp.describe('when the token stops being accepted (`expires_in` seconds after issue)'),
  registration_endpoint: z.url(),
});

/** src/admin/webhooks.ts `toWebhookView`: an outbound webhook subscription, never its secret. */
export const webhookView = z.strictObject({
  id: z.uuid().describe('server-assigned; the `{webhookId}` of DELETE and of the delivery log'),
  workspace_id: z.string(),
  url: z.string().describe('where deliveries are POSTed'),
  events: z.array(z.enum(CONNECTION_EVENTS)),
  created_at: timestamp,
  secret: absent('never returned by a read'),
});

/** POST /admin/workspaces/:id/webhooks: the subscription plus its signing secret, once. */
export const webhookWithSecret = webhookView
  .extend({
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
      .describe('the Standard Webhooks signing secret (`whsec_` + base64); shown once, keep it to verify `webhook-signature`'),
  })
  .describe('The subscription, plus its signing secret once.');

/** src/admin/webhooks.ts `toDeliveryView`: one entry of a subscription's delivery log (no payload). */
export const webhookDeliveryView = z.strictObject({
  id: z.uuid().describe('also the `webhook-id` header of every attempt: receivers deduplicate on it'),
  event: z.enum(CONNECTION_EVENTS),
  status: z.enum(['pending', 'delivered', 'failed']).describe('`pending`: queued or waiting for a retry; `failed`: every attempt failed'),
  attempts: z.number().int().min(0),
  last_status_code: z.number().int().nullable().describe("the receiver's HTTP status at the last attempt; `null` when none came (timeout, refused)"),
  last_error: z.string().nullable().describe('why the last attempt failed (`HTTP 500`, `timeout`, …); `null` after a success'),
  next_attempt_at: timestamp.nullable().describe('about when the next retry runs (the queue adds jitter); `null` once settled'),
  created_at: timestamp,
  delivered_at: timestamp.nullable(),
});

/** src/admin/audit.ts `toAuditView`. */
export const auditEventView = z.strictObject({
  id: z.string().describe('increasing; newest first'),
  time: timestamp,
  type: z.enum(AUDIT_TYPES),
  outcome: z.enum(['success', 'failure']),
  actor: z.string().describe('`user:<id>`, `client:<client_id>`, `system`, …'),
  workspace_id: z.string().nullable(),
  client_id: z.string().nullable(),
  account_id: z.string().nullable(),
  ip: z.string().nullable(),
  request_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).describe('non-secret context of the event'),
});

/** src/grants/service.ts `GrantView`: one app the user authorized. */
export const grantView = z.strictObject({
  grant_id: z.string(),
  client_id: z.string(),
  client_name: z.string().describe('the client_id when the client has no name'),
  scopes: z.array(z.string()),
  created_at: timestamp,
  last_used_at: timestamp.nullable().describe('updated at most once a minute; `null` until first use'),
});

/** Component name → response schema (OpenAPI `components.schemas`). */
export const responseSchemas = {
  Error: errorBody,
  Client: clientView,
  ClientWithSecret: clientWithSecret,
  ClientList: listOf(clientView),
  ClientSecret: clientSecret,
  User: userView,
  UserList: listOf(userView),
  Workspace: workspaceView,
  WorkspaceList: listOf(workspaceView),
  ResourceServer: resourceView,
  ResourceServerList: listOf(resourceView),
  InitialAccessToken: initialAccessToken,
  Webhook: webhookView,
  WebhookWithSecret: webhookWithSecret,
  WebhookList: listOf(webhookView),
  WebhookDelivery: webhookDeliveryView,
  WebhookDeliveryList: listOf(webhookDeliveryView),
  AuditEvent: auditEventView,
  AuditEventList: listOf(auditEventView),
  Grant: grantView,
  GrantList: listOf(grantView),
  Provider: providerView,
  ProviderList: listOf(providerView).describe('Every provider of the registry in one page (`next_cursor` is always `null`).'),
  Connection: connectionView,
  ConnectionList: listOf(connectionView),
  DisconnectResult: disconnectResult,
  AuthorizationUrl: authorizationUrl,
  VendedToken: vendedToken,
  Mailbox: mailboxView,
  MailboxCheck: mailboxCheckView,
  RiscError: riscErrorBody,
  AcceptGrantResult: acceptGrantResult,
  AcceptGrantError: acceptGrantError,
} satisfies Record<string, z.ZodType>;

export type ResponseSchemaName = keyof typeof responseSchemas;
