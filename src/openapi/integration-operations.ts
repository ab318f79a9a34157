import { RISC_BODY_LIMIT } from '../integrations/risc/index.js';
import { listQuery, purposeQuery } from '../integrations/routes.js';
import { acceptGrantQuery } from '../integrations/alexa/routes.js';
import { invalidRequest, type OperationSpec } from './requests.js';

const unknownProvider = 'No provider of that name (unknown names are 404, known but unconfigured ones 400 `provider_not_configured`).';
const upstreamUnavailable = 'The provider could not be reached, or its answer was unusable.';

/** The Integrations API (the OAuth consumer): every route of src/integrations/routes.ts. */
export const integrationOperations: OperationSpec[] = [
  {
    method: 'get',
    path: '/integrations/providers',
    operationId: 'listProviders',
    tag: 'Integrations',
    summary: 'The providers this deployment offers, and whether each is configured',
    description: 'All of them in one page (`next_cursor` is always `null`). Never a client secret.',
    audience: 'integrations',
    success: { status: 200, description: 'The provider registry.', schema: 'ProviderList' },
  },
  {
    method: 'get',
    path: '/integrations',
    operationId: 'listConnections',
    tag: 'Integrations',
    summary: 'This actor’s connections',
    description: 'The connections of the token’s actor (`user:<sub>` or `api_key:<client_id>`) in its workspace, by id. Never a token.',
    audience: 'integrations',
    query: listQuery,
    noStore: 'cache-control',
    success: { status: 200, description: 'One page of connections.', schema: 'ConnectionList' },
    badRequest: invalidRequest('A bad `limit`, `cursor` or `provider`.'),
  },
  {
    method: 'get',
    path: '/integrations/mailboxes/{purpose}',
    operationId: 'getMailbox',
    tag: 'Integrations',
    summary: 'The workspace’s mailbox setting for a purpose',
    description: 'Never a password: `has_password` says whether one is stored.',
    audience: 'integrations',
    success: { status: 200, description: 'The mailbox setting.', schema: 'Mailbox' },
    badRequest: invalidRequest('A malformed purpose.'),
    notFound: 'The workspace has no mailbox for this purpose.',
  },
  {
    method: 'put',
    path: '/integrations/mailboxes/{purpose}',
    operationId: 'putMailbox',
    tag: 'Integrations',
    summary: 'Create or replace the workspace’s mailbox setting for a purpose',
    audience: 'integrations',
    body: 'MailboxRequest',
    success: { status: 200, description: 'Replaced.', schema: 'Mailbox' },
    alsoSuccess: { status: 201, description: 'Created.', schema: 'Mailbox' },
    badRequest: invalidRequest(
      'A bad field or purpose, a malformed body, no password for `password` / `app_password` (or a changed username, host, ' +
        'port or security without the password again), no `connection_id` for `oauth2` or a connection that is not active, ' +
        '`security` `none` on a non-loopback host.',
    ),
    notFound: '`connection_id` names no connection of the caller’s own (another actor’s does not exist from here).',
  },
  {
    method: 'post',
    path: '/integrations/mailboxes/{purpose}/check',
    operationId: 'checkMailbox',
    tag: 'Integrations',
    summary: 'Check the workspace’s mailbox for a purpose, live',
    description:
      'An IMAP login (then IDLE on INBOX when the mailbox has `use_idle`) and an SMTP AUTH, in parallel, with the ' +
      'mailbox’s own credential: its stored password, or for `oauth2` a fresh access token of its connection (refreshed ' +
      'when near expiry). No message is sent; each side gives up after 15 s. 200 whenever the check ran: a refused login, ' +
      'an unreachable server or an unusable connection is its finding (`ok` false, a short `error` per side), not an API ' +
      'error. The outcome is also recorded in the mailbox’s `health`. Never a password or a token. No request body.',
    audience: 'integrations',
    noStore: 'cache-control',
    success: { status: 200, description: 'The check ran: its outcome (`ok` may be false).', schema: 'MailboxCheck' },
    badRequest: invalidRequest('A malformed purpose.'),
    notFound: 'The workspace has no mailbox for this purpose.',
  },
  {
    method: 'post',
    path: '/integrations/google/risc',
    operationId: 'receiveGoogleRiscEvent',
    tag: 'Integrations',
    summary: 'Google Cross-Account Protection: receive a security event token (called by Google, not by API clients)',
    description:
      'RFC 8935 push delivery of an RFC 8417 Security Event Token from Google’s Cross-Account Protection (RISC); register ' +
      'this URL with Google’s RISC API. No bearer token: the SET authenticates itself, by its signature (RS256 or ES256, ' +
      'a key of the JWKS at `GOOGLE_RISC_JWKS_URI`), its `iss` (`GOOGLE_RISC_ISSUER`) and its `aud` (the google ' +
      'provider’s client_id), and must carry `iat` (at most 7 days old), `jti` and `events`. Each event applies to every ' +
      'link of that Google account among the Google-family providers, in every workspace: revoked (tokens deleted) or ' +
      '`needs_reauth`, with the connection webhook and an audit event. A replayed `jti`, or a SET about no account linked ' +
      'here, is accepted and changes nothing. Also read: `application/jwt`, `text/plain`, `application/octet-stream`, and ' +
      '`{ "set": "<jwt>" }` as JSON or a form.',
    audience: 'integrations',
    noBearer: true,
    noStore: 'cache-control',
    rawBody: { mediaType: 'application/secevent+jwt', description: 'the SET: a compact signed JWT (JWS)' },
    success: { status: 202, description: 'Accepted (RFC 8935 §2.2): no body.' },
    badRequest: {
      codes: ['invalid_request', 'invalid_key', 'invalid_issuer', 'invalid_audience', 'authentication_failed'],
      schema: 'RiscError',
      description:
        'The SET is refused (RFC 8935 §2.3), `err` and `error` saying why: `invalid_request` (an empty body, not a signed ' +
        'JWT, an encrypted one, a missing or bad claim, too old), `invalid_key` (not signed by a key of the JWKS, or another ' +
        'algorithm), `invalid_issuer`, `invalid_audience` (also: no google client_id is configured, so nothing is accepted).',
    },
    moreErrors: {
      413: { codes: ['invalid_request'], schema: 'RiscError', description: `The body is larger than ${RISC_BODY_LIMIT} bytes.` },
      415: { codes: ['invalid_request'], schema: 'RiscError', description: 'A media type the receiver does not read (see above).' },
      503: {
        codes: ['temporarily_unavailable'],
        retryAfter: true,
        description: 'The signing keys (the JWKS) could not be fetched: ours, not the SET’s fault; the transmitter tries again.',
      },
    },
  },
  {
    method: 'post',
    path: '/integrations/amazon-lwa/accept-grant',
    operationId: 'alexaAcceptGrant',
    tag: 'Integrations',
    summary: 'Alexa AcceptGrant: store Login with Amazon tokens for the linked user (called by the skill backend)',
    description:
      'The skill backend forwards the `Alexa.Authorization.AcceptGrant` directive it received. No bearer header: the ' +
      'directive’s grantee token (an access token this server issued at account linking) names the user. The grant code ' +
      'is exchanged at the `amazon-lwa` provider’s token URL with its client credentials (no redirect_uri, as LWA takes ' +
      'these codes), and the tokens become that user’s `amazon-lwa` connection (query `purpose`, default `default`; a ' +
      'relink replaces it), refreshed ahead of expiry like every link, with the `connection.connected` webhook. Success ' +
      'and errors carry the Alexa `event` (`AcceptGrant.Response`, or `ErrorResponse` `ACCEPT_GRANT_FAILED`) for the ' +
      'skill to return to Alexa. https://developer.amazon.com/en-US/docs/alexa/device-apis/alexa-authorization.html',
    audience: 'integrations',
    noBearer: true,
    query: acceptGrantQuery,
    body: 'AcceptGrantRequest',
    noStore: 'cache-control',
    success: { status: 200, description: 'Linked: the event for Alexa, and the connection (never a token).', schema: 'AcceptGrantResult' },
    badRequest: {
      codes: ['invalid_request', 'invalid_grant', 'provider_not_configured'],
      open: true,
      schema: 'AcceptGrantError',
      description:
        '`invalid_request`: not an AcceptGrant directive, a bad purpose, or a grantee token that is not an active user ' +
        'access token of this server; `provider_not_configured`: `amazon-lwa` has no client credentials here; otherwise ' +
        'LWA’s own error for the code (`invalid_grant`, …).',
    },
    moreErrors: {
      502: { codes: ['upstream_unavailable', 'invalid_response'], schema: 'AcceptGrantError', description: upstreamUnavailable },
    },
  },
  {
    method: 'post',
    path: '/integrations/{provider}/authorize',
    operationId: 'authorizeIntegration',
    tag: 'Integrations',
    summary: 'Start linking an account at the provider',
    description:
      'Returns the provider’s authorization URL to send the user’s browser to. State, PKCE verifier and nonce stay on ' +
      'this server (single use, bound to the actor and the provider, valid `expires_in` seconds). The connection is ' +
      'made by the callback, for the actor of this call.',
    audience: 'integrations',
    body: 'AuthorizeRequest',
    bodyOptional: true,
    noStore: 'cache-control',
    success: { status: 200, description: 'Where to send the browser.', schema: 'AuthorizationUrl' },
    badRequest: {
      codes: ['invalid_request', 'provider_not_configured'],
      description: 'A bad field or provider name, a malformed body, a `return_to` on another origin; or a provider that is known but not configured.',
    },
    notFound: unknownProvider,
    badGateway: 'The provider’s discovery document could not be fetched.',
  },
  {
    method: 'get',
    path: '/integrations/{provider}/callback',
    operationId: 'integrationCallback',
    tag: 'Integrations',
    summary: 'The provider’s redirect back (not called by API clients)',
    description:
      'The redirect URI registered at the provider (ISSUER + `/integrations/<provider>/callback`), reached by the user’s ' +
      'browser with the provider’s `code` and `state` (or `error`), plus `iss` where the provider sends it (RFC 9207). ' +
      'Authenticated by `state` alone: no cookie, no bearer token. It checks the state, exchanges the code (with the PKCE ' +
      'verifier and nonce), reads the linked account’s identity and stores the tokens encrypted. A failure stores nothing. ' +
      'A browser that asks for HTML gets the errors as an HTML page.',
    audience: 'integrations',
    noBearer: true,
    noStore: 'cache-control',
    htmlErrors: true,
    success: { status: 200, description: 'Connected (the authorization had no `return_to`): the connection.', schema: 'Connection' },
    redirect:
      'Connected, and the authorization named a `return_to`: there, with `connected=<provider>` and `purpose=<purpose>` added to its query.',
    badRequest: {
      codes: ['invalid_request', 'invalid_state', 'provider_not_configured', 'access_denied', 'invalid_grant', 'invalid_response', 'upstream_error'],
      open: true,
      description:
        'No `state`; `invalid_state`: a state that is unknown, already used, for another provider or expired; a provider ' +
        'known but not configured; the provider’s own error from the redirect or the code exchange (`access_denied` when the ' +
        'user declined, or any other OAuth error code it sends; `upstream_error` when its code is not a valid one); ' +
        '`invalid_response`: its token response or ID token failed validation.',
    },
    notFound: unknownProvider,
    badGateway: 'The provider’s token endpoint or identity endpoint could not be reached, or the identity could not be read.',
  },
  {
    method: 'get',
    path: '/integrations/{provider}/status',
    operationId: 'getConnectionStatus',
    tag: 'Integrations',
    summary: 'One connection’s status and health',
    audience: 'integrations',
    query: purposeQuery,
    noStore: 'cache-control',
    success: { status: 200, description: 'The connection.', schema: 'Connection' },
    badRequest: invalidRequest('A malformed provider name or purpose.'),
    notFound: 'The actor has no connection to this provider with this purpose (unknown providers included).',
  },
  {
    method: 'post',
    path: '/integrations/{provider}/token',
    operationId: 'vendIntegrationToken',
    tag: 'Integrations',
    summary: 'An access token of the caller’s own connection',
    description:
      'The provider’s access token for the token’s actor, refreshed first when it expires within the refresh margin (or ' +
      'when `force_refresh`). Needs scope `integrations:token`. Concurrent refreshes of one connection share one call ' +
      'to the provider; a rotated refresh token is kept.',
    audience: 'integrations',
    scope: 'integrations:token',
    body: 'TokenRequest',
    bodyOptional: true,
    noStore: 'pragma',
    success: { status: 200, description: 'The access token.', schema: 'VendedToken' },
    badRequest: {
      codes: ['invalid_request', 'provider_not_configured', 'invalid_scope', 'invalid_grant'],
      open: true,
      description:
        'A bad field or provider name, a malformed body; a provider that is known but not configured; or the provider’s own ' +
        'OAuth error when it refuses a refresh that does not break the link (e.g. `invalid_scope`, or `invalid_grant` for ' +
        'extra `scopes` it will not mint a token for): any code it sends, `upstream_error` when that is not a valid one.',
    },
    notFound: 'No provider of that name, or the actor has no connection to it with this purpose.',
    conflict: {
      codes: ['needs_reauth', 'connection_revoked'],
      description: '`needs_reauth`: the provider refused the refresh token (or none is held): the account must be connected again; `connection_revoked`: the connection was disconnected.',
    },
    badGateway: `${upstreamUnavailable} The refresh can be tried again.`,
  },
  {
    method: 'post',
    path: '/integrations/{provider}/disconnect',
    operationId: 'disconnectIntegration',
    tag: 'Integrations',
    summary: 'Disconnect: revoke at the provider where it can, delete the tokens',
    description:
      'Revokes at the provider when it has a revocation endpoint (RFC 7009), then deletes our copy of the tokens and marks ' +
      'the connection `revoked` whatever the provider answered. Mailboxes that used it go back to password auth. ' +
      'Works for a provider that is no longer configured.',
    audience: 'integrations',
    body: 'DisconnectRequest',
    bodyOptional: true,
    success: { status: 200, description: 'The revoked connection and what happened at the provider.', schema: 'DisconnectResult' },
    badRequest: invalidRequest('A bad field or provider name, or a malformed body.'),
    notFound: 'The actor has no connection to this provider with this purpose (unknown providers included).',
  },
];
