import { z } from 'zod';
import { purposeParam } from '../integrations/mailboxes.js';
import type { RiscErrorCode } from '../integrations/risc/index.js';
import { timestamp, errorBody } from './schema-parts.js';

/** Response bodies of /integrations (see schemas.ts for how these are used and checked). */

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
