import { z } from 'zod';
import { AUDIT_TYPES } from '../audit/types.js';
import { CONNECTION_EVENTS } from '../integrations/events.js';
import { purposeParam } from '../integrations/mailboxes.js';
import type { RiscErrorCode } from '../integrations/risc/index.js';

/**
 * Response bodies of /admin, /account and /integrations as zod schemas, the source of the OpenAPI document's response
 * schemas. They describe what the handlers really return (the `to*View` functions next to them); the
 * OpenAPI test calls every operation and checks each body against these. Objects are strict where the
 * handler builds the object field by field, so an extra field (a leaked hash, say) fails the test.
 */

const timestamp = z.iso.datetime().describe('RFC 3339 date-time, UTC');
const absent = (why: string) => z.never().optional().describe(why);

/** `{ error, error_description }` (CONTRACT.md, Errors). */
export const errorBody = z
  .strictObject({
    error: z.string().describe('machine-readable code (OAuth style)'),
    error_description: z.string().describe('human-readable description'),
  })
  .describe('Every error of these APIs.');

/** `{ items, next_cursor }`: every list endpoint (CONTRACT.md). */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; `null` on the last page'),
  });

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
  initial_access_token: z.string().describe('bearer token for one RFC 7591 registration; shown once'),
  expires_at: timestamp,
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

/** src/integrations/providers.ts `toProviderView`: one provider of the registry, never its credentials. */
export const providerView = z.strictObject({
  name: z.string().describe('the `{provider}` of the other /integrations routes'),
  display_name: z.string(),
  configured: z.boolean().describe('usable: credentials and endpoints are set; `false` answers 400 `provider_not_configured`'),
  missing: z.array(z.string()).describe('why it is not configured: unset environment variables or absent registry keys'),
  scopes: z.array(z.string()).describe('the scopes asked for when `authorize` names none'),
  pkce: z.boolean(),
  redirect_uri: z.url().describe('the redirect URI to register at the provider: ISSUER + `/integrations/<name>/callback`'),
});

const connectionStatus = z.enum(['active', 'needs_reauth', 'revoked']).describe('`needs_reauth`: the provider refused the refresh token, connect again; `revoked`: disconnected');

/** src/integrations/connection-view.ts `toConnectionView`: status, identity and health, never a token. */
export const connectionView = z.strictObject({
  id: z.uuid().describe('the `connection_id` a mailbox with `auth_method` `oauth2` names'),
  provider: z.string(),
  purpose: purposeParam,
  status: connectionStatus,
  actor: z.string().describe('`user:<sub>` for a user token, `api_key:<client_id>` for a client_credentials token'),
  workspace_id: z.string(),
  identity: z
    .strictObject({
      subject: z.string().nullable().describe('the account at the provider (`sub`, `oid`, …); `null` when the provider does not say'),
      email: z.string().nullable(),
    })
    .describe('the linked account at the provider, as read at connect time'),
  scopes: z.array(z.string()).describe('as granted by the provider'),
  expires_at: timestamp.nullable().describe('when the stored access token expires; `null` when unknown or disconnected'),
  connected_at: timestamp,
  revoked_at: timestamp.nullable(),
  health: z.strictObject({
    last_success_at: timestamp.nullable(),
    last_refreshed_at: timestamp.nullable(),
    last_error: z.string().nullable().describe('`<code>: <message>` of the last failed refresh; cleared by a successful one'),
    last_error_at: timestamp.nullable(),
    error_count_24h: z.number().int().min(0),
  }),
});

/** Alexa's event envelope (src/integrations/alexa/directive.ts), returned for the skill to pass to Alexa as is. */
const alexaEvent = (name: z.ZodType, payload: z.ZodType) =>
  z.strictObject({
    header: z.strictObject({ namespace: z.literal('Alexa.Authorization'), name, messageId: z.string(), payloadVersion: z.literal('3') }),
    payload,
  });

/** POST /integrations/amazon-lwa/accept-grant: the AcceptGrant.Response event and the link it made. */
export const acceptGrantResult = z.strictObject({
  event: alexaEvent(z.literal('AcceptGrant.Response'), z.strictObject({})),
  connection: connectionView,
});

/** Its errors: the usual body plus the ErrorResponse event (`ACCEPT_GRANT_FAILED`). */
export const acceptGrantError = errorBody
  .extend({ event: alexaEvent(z.literal('ErrorResponse'), z.strictObject({ type: z.literal('ACCEPT_GRANT_FAILED'), message: z.string() })) })
  .describe('`{ error, error_description }` plus the Alexa ErrorResponse event to return to Alexa.');

/** POST /integrations/:provider/disconnect (src/integrations/disconnect.ts): the revoked connection and what happened. */
export const disconnectResult = connectionView
  .extend({
    upstream_revocation: z
      .enum(['revoked', 'not_supported', 'failed', 'nothing_to_revoke'])
      .describe(
        '`revoked`: the provider accepted the revocation (RFC 7009); `not_supported`: it has no revocation endpoint (or is no longer configured); ' +
          '`failed`: it could not be reached or refused; `nothing_to_revoke`: no tokens were held (already disconnected). ' +
          'Our copy of the tokens is deleted in every case.',
      ),
    mailboxes_reverted: z.array(purposeParam).describe('purposes of the mailboxes that used this connection and went back to password auth'),
  })
  .describe('The connection, now `revoked`, plus the outcome at the provider.');

/** POST /integrations/:provider/authorize (src/integrations/connect-flow.ts). */
export const authorizationUrl = z.strictObject({
  authorization_url: z.url().describe("send the user's browser here; the provider redirects back to the callback"),
  expires_in: z.number().int().min(1).describe('seconds the request stays valid (the `state` is single use)'),
});

/** POST /integrations/:provider/token (src/integrations/token-vending.ts `VendedToken`). */
export const vendedToken = z.strictObject({
  access_token: z.string().describe("the provider's access token for the caller's own connection"),
  token_type: z.string().describe("as the provider issued it (usually `Bearer`)"),
  expires_in: z.number().int().min(0).describe('seconds until it expires; refreshed first when close to expiry'),
  scope: z.string().describe('space-separated scopes of this token'),
});

const mailEndpoint = z.strictObject({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  security: z.enum(['tls', 'starttls', 'none']),
});

/** src/integrations/mailboxes.ts `toMailboxView`: settings and health, `has_password` instead of the password. */
export const mailboxView = z.strictObject({
  workspace_id: z.string(),
  purpose: purposeParam,
  auth_method: z.enum(['password', 'oauth2', 'app_password']),
  email: z.string().nullable(),
  username: z.string(),
  imap: mailEndpoint,
  smtp: mailEndpoint,
  has_password: z.boolean().describe('a password is stored (kept when switching to `oauth2` on the same server and username); it is never returned'),
  connection_id: z.uuid().nullable().describe('the OAuth connection used with `auth_method` `oauth2`'),
  use_idle: z.boolean(),
  health: z.strictObject({
    last_check_at: timestamp.nullable(),
    last_success_at: timestamp.nullable(),
    last_error: z.string().nullable(),
    error_count: z.number().int().min(0).describe('failed checks since the last successful one'),
  }),
  updated_at: timestamp,
});

/** POST /integrations/mailboxes/:purpose/check (src/integrations/mail-check/service.ts `MailboxCheckResult`). */
export const mailboxCheckView = z.strictObject({
  purpose: purposeParam,
  auth_method: z.enum(['password', 'oauth2', 'app_password']),
  ok: z.boolean().describe('both sides logged in (and, with `use_idle`, IDLE worked)'),
  imap: z.strictObject({
    ok: z.boolean(),
    error: z.string().optional().describe('why not, in one short line (never a password or a token)'),
    idle: z.boolean().optional().describe('only when the mailbox uses IDLE: whether the server entered IDLE on INBOX'),
  }),
  smtp: z.strictObject({
    ok: z.boolean(),
    error: z.string().optional().describe('why not, in one short line (never a password or a token)'),
  }),
  checked_at: timestamp,
});

/** RFC 8935 §2.4 `err` codes of src/integrations/risc/verify.ts (the type is the source; the list must cover it). */
const riscErrorCodes = ['invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience', 'authentication_failed'] as const satisfies readonly RiscErrorCode[];
const allRiscCodes: Record<Exclude<RiscErrorCode, (typeof riscErrorCodes)[number]>, never> = {};
void allRiscCodes;

/** src/integrations/risc/verify.ts `RiscError.body`: RFC 8935's `err` / `description`, and ours. */
export const riscErrorBody = z
  .strictObject({
    err: z.enum(riscErrorCodes).describe('RFC 8935 §2.4 error code, read by the SET transmitter'),
    description: z.string().describe('RFC 8935 §2.4 human-readable description'),
    error: z.enum(riscErrorCodes).describe('the same code as `err`'),
    error_description: z.string().describe('the same text as `description`'),
  })
  .describe('A refused SET: RFC 8935 `{ err, description }` plus this API’s `{ error, error_description }`.');

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
