import { z } from 'zod';
import { badRequest, notFound } from '../http/errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { MailboxRow } from '../queries/mailboxes.js';
import type { IntegrationActor } from './actor.js';
import type { IntegrationDeps } from './deps.js';
import { mailboxPasswordAad } from './sealing.js';

/**
 * IMAP and SMTP are line protocols: a CR or LF in a value sent on the wire (the username in LOGIN/AUTH) would end the
 * command and start another. No control character (C0, DEL, C1 such as NEL) nor Unicode line or paragraph separator.
 */
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\u2028\u2029]*$/u;

const host = z
  .string()
  .min(1)
  .max(253)
  // (anchored alternatives, and JS `$` ends the string: no control character gets through)
  .regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/, 'a host name or an IP address');
const endpoint = z.strictObject({
  host,
  port: z.number().int().min(1).max(65535),
  /** `tls`: implicit TLS (IMAP 993, SMTP 465); `starttls`: upgrade (IMAP 143, SMTP 587); `none`: loopback only. */
  security: z.enum(['tls', 'starttls', 'none']),
});

export const mailboxBody = z.strictObject({
  auth_method: z.enum(['password', 'oauth2', 'app_password']),
  email: z.email().max(320).optional(),
  username: z.string().min(1).max(320).regex(NO_CONTROL_CHARACTERS, 'no control characters or line breaks'),
  imap: endpoint,
  smtp: endpoint,
  /** Write-only: stored encrypted, never returned. Omit to keep the stored one. */
  password: z.string().min(1).max(1024).optional(),
  /** The OAuth connection (an id from `GET /integrations`) used when `auth_method` is `oauth2`. */
  connection_id: z.uuid().nullable().optional(),
  use_idle: z.boolean().default(false),
});
export type MailboxBody = z.output<typeof mailboxBody>;

export const purposeParam = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ and - (e.g. booking, stopsale)');

const iso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

/** The API's view of a mailbox: settings and health, `has_password` instead of the password. */
export const toMailboxView = (row: MailboxRow) => ({
  workspace_id: row.workspace_id,
  purpose: row.purpose,
  auth_method: row.auth_method,
  email: row.email,
  username: row.username,
  imap: { host: row.imap_host, port: row.imap_port, security: row.imap_security },
  smtp: { host: row.smtp_host, port: row.smtp_port, security: row.smtp_security },
  has_password: row.password_enc !== null,
  connection_id: row.connection_id,
  use_idle: row.use_idle,
  health: { last_check_at: iso(row.last_check_at), last_success_at: iso(row.last_success_at), last_error: row.last_error, error_count: row.error_count },
  updated_at: iso(row.updated_at),
});

/** Tenant mailboxes: per workspace and purpose, the IMAP/SMTP setting and how it authenticates. */
export function mailboxService(deps: IntegrationDeps) {
  const { mailboxes, connections, keyring, audit, clock } = deps;
  return {
    async get(actor: IntegrationActor, purpose: string) {
      const row = await mailboxes.find(actor.workspace_id, purpose);
      if (!row) throw notFound(`no mailbox with purpose ${purpose} in this workspace`);
      return toMailboxView(row);
    },

    async put(actor: IntegrationActor, purpose: string, body: MailboxBody, origin: AuditOrigin) {
      for (const [name, side] of [['imap', body.imap], ['smtp', body.smtp]] as const) {
        if (side.security === 'none' && !isLoopbackHost(side.host)) throw badRequest(`${name}.security none is allowed only for loopback hosts`);
      }
      const current = await mailboxes.find(actor.workspace_id, purpose);
      let connectionId: string | null = null;
      if (body.auth_method === 'oauth2') {
        if (!body.connection_id) throw badRequest('auth_method oauth2 needs connection_id (a connection from GET /integrations)');
        const connection = await connections.findById(body.connection_id);
        // Only the caller's own connection can be lent to a mailbox; anyone else's does not exist from here.
        const own = connection && connection.workspace_id === actor.workspace_id && connection.actor_type === actor.actor_type && connection.actor_id === actor.actor_id;
        if (!own) throw notFound(`no connection ${body.connection_id} of yours`);
        if (connection.status !== 'active') throw badRequest(`connection ${body.connection_id} is ${connection.status}: connect it again first`);
        connectionId = connection.id;
      }
      // The stored password goes only where it was meant to: pointing the mailbox elsewhere needs it again.
      const moved =
        !!current &&
        (current.username !== body.username ||
          current.imap_host !== body.imap.host ||
          current.imap_port !== body.imap.port ||
          current.imap_security !== body.imap.security ||
          current.smtp_host !== body.smtp.host ||
          current.smtp_port !== body.smtp.port ||
          current.smtp_security !== body.smtp.security);
      if (moved && body.password === undefined && body.auth_method !== 'oauth2') {
        throw badRequest('changing the username, a host, a port or the security needs the password again');
      }
      // (an oauth2 mailbox that moved drops the old password, so a later revert to password auth cannot send it)
      const keepPassword = moved ? null : (current?.password_enc ?? null);
      const passwordEnc = body.password !== undefined ? keyring.encrypt(body.password, mailboxPasswordAad({ workspace_id: actor.workspace_id, purpose })) : keepPassword;
      if (body.auth_method !== 'oauth2' && !passwordEnc) throw badRequest(`auth_method ${body.auth_method} needs a password`);
      const row = await mailboxes.upsert(
        {
          workspace_id: actor.workspace_id,
          purpose,
          auth_method: body.auth_method,
          email: body.email ?? null,
          username: body.username,
          imap_host: body.imap.host,
          imap_port: body.imap.port,
          imap_security: body.imap.security,
          smtp_host: body.smtp.host,
          smtp_port: body.smtp.port,
          smtp_security: body.smtp.security,
          password_enc: passwordEnc,
          connection_id: connectionId,
          use_idle: body.use_idle,
        },
        new Date(clock()),
      );
      await audit.record({ ...origin, type: 'MailboxUpdate', workspaceId: actor.workspace_id, details: { purpose, auth_method: body.auth_method, connection_id: connectionId, created: !current } });
      return { view: toMailboxView(row), created: !current };
    },
  };
}

export type MailboxService = ReturnType<typeof mailboxService>;
