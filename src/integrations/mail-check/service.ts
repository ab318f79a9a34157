import type { RouterMiddleware } from '@koa/router';
import type { Logger } from 'winston';
import { DecryptionError, type KeyRing } from '../../crypto/keyring.js';
import { HttpError, notFound } from '../../http/errors.js';
import { isLoopbackHost } from '../../http/loopback.js';
import { parseWith } from '../../http/validate.js';
import type { ConnectionQueries, ConnectionRow } from '../../queries/connections.js';
import type { MailboxAuthMethod, MailboxQueries, MailboxRow } from '../../queries/mailboxes.js';
import { actorOf, type IntegrationActor } from '../actor.js';
import { purposeParam } from '../mailboxes.js';
import { mailboxPasswordAad } from '../sealing.js';
import { DestinationRefused, type OutboundPolicy } from '../../net/outbound-policy.js';
import { socketHost, withDeadline, type Attempt, type MailCheckOptions, type MailCredential, type MailEndpoint } from './endpoint.js';
import { describeMailError, scrub } from './errors.js';
import { checkImap, type ImapOutcome } from './imap.js';
import { checkSmtp, type SmtpOutcome } from './smtp.js';

/** What `POST /integrations/mailboxes/:purpose/check` answers: never a password or a token, errors as short lines. */
export interface MailboxCheckResult {
  purpose: string;
  auth_method: MailboxAuthMethod;
  /** Both sides logged in (and, with `use_idle`, IDLE worked). */
  ok: boolean;
  imap: ImapOutcome;
  smtp: SmtpOutcome;
  checked_at: string;
}

export interface MailboxCheckerDeps {
  mailboxes: MailboxQueries;
  connections: ConnectionQueries;
  keyring: KeyRing;
  /** A fresh access token of the mailbox's (active) OAuth connection: token vending, refreshed when near expiry. */
  vendToken: (connection: ConnectionRow) => Promise<string>;
  clock: () => number;
  logger: Logger;
  /** Per side (IMAP, SMTP) and per network step; default 15 s. */
  timeoutMs?: number;
  /** CA certificates (PEM) trusted besides Node's bundled ones: a private mail server's CA (tests). */
  extraCa?: string[];
  /** Where the check may connect (the context's, from ISSUER and OUTBOUND_ALLOW_PRIVATE_NETWORKS). */
  outbound: OutboundPolicy;
}

/** A side's outcome before anything is dialled: the reason it is not. */
type Refusal = { ok: false; error: string };

/** A side that may be dialled: its setting and the host's checked addresses, in the resolver's order. */
type Dialable = { endpoint: MailEndpoint; addresses: string[] };

export const DEFAULT_MAIL_CHECK_TIMEOUT_MS = 15_000;

/** A credential, or why there is none (then nothing is dialled). */
type CredentialOutcome = { credential: MailCredential } | { error: string };

/**
 * The live check of a workspace mailbox: an IMAP login (plus IDLE when the mailbox uses it) and an SMTP AUTH,
 * both with the mailbox's own credential, in parallel. The outcome lands in the mailbox's health fields.
 */
export function mailboxChecker(deps: MailboxCheckerDeps) {
  const { mailboxes, connections, keyring, vendToken, clock, logger, outbound } = deps;
  const options: MailCheckOptions = { timeoutMs: deps.timeoutMs ?? DEFAULT_MAIL_CHECK_TIMEOUT_MS, extraCa: deps.extraCa };

  async function credentialOf(row: MailboxRow): Promise<CredentialOutcome> {
    if (row.auth_method !== 'oauth2') {
      if (!row.password_enc) return { error: 'no password is stored for this mailbox' };
      try {
        return { credential: { user: row.username, password: keyring.decrypt(row.password_enc, mailboxPasswordAad(row)) } };
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        logger.warn('stored mailbox password does not open for its row', { workspace_id: row.workspace_id, purpose: row.purpose, error: error.message });
        return { error: 'the stored password cannot be read: set it again' };
      }
    }
    if (!row.connection_id) return { error: 'auth_method oauth2 but no connection is set: set connection_id' };
    const connection = await connections.findById(row.connection_id);
    if (!connection || connection.workspace_id !== row.workspace_id) return { error: 'the OAuth connection of this mailbox no longer exists: connect the account again' };
    if (connection.status !== 'active') {
      const why = connection.status === 'needs_reauth' ? 'needs to be connected again' : 'was disconnected';
      return { error: `the ${connection.provider} connection of this mailbox ${why} (status ${connection.status})` };
    }
    try {
      return { credential: { user: row.username, accessToken: await vendToken(connection) } };
    } catch (error) {
      // Token vending's errors are ours and hold no token (e.g. "the gmail refresh token was refused (…)").
      if (error instanceof HttpError) return { error: `no access token from the ${connection.provider} connection: ${scrub(error.message, [])}` };
      logger.warn('mailbox check: token vending failed', { workspace_id: row.workspace_id, purpose: row.purpose, connection_id: connection.id, error: (error as Error)?.message });
      return { error: `no access token from the ${connection.provider} connection` };
    }
  }

  /** Plaintext only to loopback, whatever is stored (the setting's own validation says the same). */
  const plaintextRefused = (endpoint: MailEndpoint): string | undefined =>
    endpoint.security === 'none' && !isLoopbackHost(endpoint.host) ? 'security none is allowed only for loopback hosts' : undefined;

  /**
   * The endpoint with the addresses to dial: its host resolved once, every address checked by the outbound policy
   * (no special-use address: loopback, private, link-local such as 169.254.169.254, …), or why nothing is dialled.
   * A refused destination gets one fixed reason whatever the range, and no connection is attempted, so the check
   * cannot probe internal hosts and ports.
   */
  async function dialable(endpoint: MailEndpoint): Promise<Dialable | Refusal> {
    const plaintext = plaintextRefused(endpoint);
    if (plaintext) return { ok: false, error: plaintext };
    try {
      const addresses = await withDeadline(outbound.resolve(socketHost(endpoint.host)), options.timeoutMs, () => {});
      return { endpoint, addresses: addresses.map((entry) => entry.address) };
    } catch (error) {
      return { ok: false, error: error instanceof DestinationRefused ? error.message : describeMailError(error) };
    }
  }

  /**
   * One side tried on the checked addresses in order (never resolved again), moving on only when the connection
   * itself could not be made (refused, unreachable, connect timeout): a TLS, protocol or login failure is a finding
   * about the server, reported as it is (a refused login is not tried on every address).
   * Time: the connect phases of all attempts share one `timeoutMs`, each getting an equal part of what is left (an
   * address that refuses at once leaves its part to the next; one address gets all of it, as before); the attempt
   * that connects then has the usual per-step and per-side bounds. A side takes at most about 2 × timeoutMs
   * whatever the number of addresses.
   */
  async function overAddresses<T extends { ok: boolean; error?: string }>(target: Dialable, attempt: (endpoint: MailEndpoint, options: MailCheckOptions) => Promise<Attempt<T>>): Promise<T> {
    const { endpoint, addresses } = target;
    const connectBy = performance.now() + options.timeoutMs; // performance: immune to a test's fake Date
    let last!: T; // resolve() never answers an empty list
    for (const [index, address] of addresses.entries()) {
      // At least 1 ms: nodemailer reads a 0 timeout as its 2-minute default.
      const connectTimeoutMs = Math.max(1, Math.floor((connectBy - performance.now()) / (addresses.length - index)));
      const { outcome, unreachable } = await attempt({ ...endpoint, address }, { ...options, connectTimeoutMs });
      if (!unreachable) return outcome;
      last = outcome;
    }
    return addresses.length > 1 ? { ...last, error: `${last.error} (tried ${addresses.length} addresses)` } : last;
  }

  return {
    async check(actor: IntegrationActor, purpose: string): Promise<MailboxCheckResult> {
      const row = await mailboxes.find(actor.workspace_id, purpose);
      if (!row) throw notFound(`no mailbox with purpose ${purpose} in this workspace`);
      const imapEndpoint: MailEndpoint = { host: row.imap_host, port: row.imap_port, security: row.imap_security };
      const smtpEndpoint: MailEndpoint = { host: row.smtp_host, port: row.smtp_port, security: row.smtp_security };

      const found = await credentialOf(row);
      let imap: ImapOutcome;
      let smtp: SmtpOutcome;
      if ('error' in found) {
        imap = { ok: false, error: found.error, ...(row.use_idle ? { idle: false } : {}) };
        smtp = { ok: false, error: found.error };
      } else {
        const { credential } = found;
        [imap, smtp] = await Promise.all([
          dialable(imapEndpoint).then((target) => ('ok' in target ? target : overAddresses(target, (endpoint, opts) => checkImap(endpoint, credential, row.use_idle, opts)))),
          dialable(smtpEndpoint).then((target) => ('ok' in target ? target : overAddresses(target, (endpoint, opts) => checkSmtp(endpoint, credential, opts)))),
        ]);
      }

      const ok = imap.ok && smtp.ok;
      const at = new Date(clock());
      const error = ok ? undefined : [imap.ok ? '' : `imap: ${imap.error}`, smtp.ok ? '' : `smtp: ${smtp.error}`].filter(Boolean).join('; ');
      await mailboxes.recordCheck(row.workspace_id, row.purpose, { ok, error, at });
      logger.info('mailbox check', { workspace_id: row.workspace_id, purpose: row.purpose, auth_method: row.auth_method, ok, imap_error: imap.error, smtp_error: smtp.error, idle: imap.idle });
      return { purpose: row.purpose, auth_method: row.auth_method, ok, imap, smtp, checked_at: at.toISOString() };
    },
  };
}

export type MailboxChecker = ReturnType<typeof mailboxChecker>;

/**
 * `POST /integrations/mailboxes/:purpose/check` (behind bearer auth). Answers 200 with the result even when
 * `ok` is false: the check ran, and a refused login or a dead server is its finding, not an API error. Only a
 * check that cannot run is an error: a bad purpose (400), no such mailbox in the caller's workspace (404).
 */
export function mailboxCheckHandler(checker: MailboxChecker): RouterMiddleware {
  return async (ctx) => {
    const purpose = parseWith(purposeParam, ctx.params.purpose);
    const result = await checker.check(actorOf(ctx.state.principal), purpose);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 200;
    ctx.body = result;
  };
}
