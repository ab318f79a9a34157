import type { JWTPayload } from 'jose';

/**
 * Google Cross-Account Protection events (https://developers.google.com/identity/protocols/risc) and what each
 * does to the linked accounts of that Google account.
 */
export const RISC_EVENT = 'https://schemas.openid.net/secevent/risc/event-type/';
export const OAUTH_EVENT = 'https://schemas.openid.net/secevent/oauth/event-type/';

export const RISC_EVENTS = {
  sessionsRevoked: `${RISC_EVENT}sessions-revoked`,
  tokensRevoked: `${RISC_EVENT}tokens-revoked`,
  oauthTokensRevoked: `${OAUTH_EVENT}tokens-revoked`,
  oauthTokenRevoked: `${OAUTH_EVENT}token-revoked`,
  accountDisabled: `${RISC_EVENT}account-disabled`,
  accountEnabled: `${RISC_EVENT}account-enabled`,
  accountPurged: `${RISC_EVENT}account-purged`,
  accountCredentialChangeRequired: `${RISC_EVENT}account-credential-change-required`,
  verification: `${RISC_EVENT}verification`,
} as const;

/** `revoke`: status revoked, tokens deleted. `needs_reauth`: the user must link again. `none`: logged only. */
export type RiscAction = 'revoke' | 'needs_reauth' | 'none';

/** The event's own attributes (RFC 8417 §2.2: the value under the event type URI). */
export type RiscEventBody = Record<string, unknown>;

const ACTIONS: Record<string, (event: RiscEventBody) => RiscAction> = {
  // Google ended the account's sessions: our tokens may still work, but the person must confirm the link.
  [RISC_EVENTS.sessionsRevoked]: () => 'needs_reauth',
  // Every OAuth token of the account (for our client) is revoked at Google: ours are dead.
  [RISC_EVENTS.tokensRevoked]: () => 'revoke',
  [RISC_EVENTS.oauthTokensRevoked]: () => 'revoke',
  // One refresh token revoked: the link holding it (matched by prefix or hash), or the subject's links.
  [RISC_EVENTS.oauthTokenRevoked]: () => 'revoke',
  // Hijacked: nothing obtained through the account can be trusted. Otherwise (bulk-account, no reason) relink.
  [RISC_EVENTS.accountDisabled]: (event) => (event.reason === 'hijacking' ? 'revoke' : 'needs_reauth'),
  // Re-enabled: links stay as they are (a needs_reauth link is healed by linking again).
  [RISC_EVENTS.accountEnabled]: () => 'none',
  [RISC_EVENTS.accountPurged]: () => 'revoke',
  [RISC_EVENTS.accountCredentialChangeRequired]: () => 'needs_reauth',
  // Google's test event (its `state` is echoed in our log only).
  [RISC_EVENTS.verification]: () => 'none',
};

export const actionOf = (type: string, event: RiscEventBody): RiscAction => (Object.hasOwn(ACTIONS, type) ? ACTIONS[type]!(event) : 'none');

/** `sessions-revoked` from the type URI: what `last_error` and the audit details say. */
export const eventName = (type: string): string => type.replace(/\/+$/, '').split('/').pop()!.slice(0, 100);

/** Google's refresh-token identifiers for `token-revoked` (first 16 characters, or base64 of SHA-512 twice). */
export type TokenIdentifier = { alg: 'prefix' | 'hash_base64_sha512_sha512'; value: string };

/** Who an event is about, as far as we can match it. Empty: nobody we can identify. */
export interface RiscSubject {
  /** The subject's identifier namespace (`iss-sub`), checked against Google's issuers. */
  iss?: string;
  sub?: string;
  email?: string;
  token?: TokenIdentifier;
}

const text = (value: unknown, max = 512): string | undefined => (typeof value === 'string' && value.trim() && value.length <= max ? value.trim() : undefined);
const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

/**
 * The subject of one event: `subject` inside the event (RISC, what Google sends), else the SET's `sub_id` (Shared
 * Signals). `subject_type` (or SSF `format`): `iss-sub` / `id_token_claims` (sub, maybe email), `email`, or
 * `oauth_token` (a refresh token identifier). Anything else identifies nobody.
 */
export function subjectOf(event: RiscEventBody, payload: JWTPayload): RiscSubject {
  const raw = isObject(event.subject) ? event.subject : isObject(payload.sub_id) ? payload.sub_id : undefined;
  if (!raw) return {};
  const type = String(raw.subject_type ?? raw.format ?? '').replace(/_/g, '-');
  switch (type) {
    case 'iss-sub':
    case 'id-token-claims':
    case '': {
      const sub = text(raw.sub);
      const email = text(raw.email)?.toLowerCase();
      const iss = text(raw.iss);
      return { ...(iss ? { iss } : {}), ...(sub ? { sub } : {}), ...(email && !sub ? { email } : {}) };
    }
    case 'email': {
      const email = text(raw.email)?.toLowerCase();
      return email ? { email } : {};
    }
    case 'oauth-token': {
      if (raw.token_type !== undefined && raw.token_type !== 'refresh_token') return {};
      const alg = raw.token_identifier_alg;
      const value = text(raw.token, 1024);
      if ((alg !== 'prefix' && alg !== 'hash_base64_sha512_sha512') || !value) return {};
      // Some senders also name the account; then only its links are candidates.
      const sub = text(raw.sub);
      return { token: { alg, value }, ...(sub ? { sub } : {}) };
    }
    default:
      return {};
  }
}
