import type { Knex } from 'knex';

export type MailboxAuthMethod = 'password' | 'oauth2' | 'app_password';
export type MailSecurity = 'tls' | 'starttls' | 'none';

export interface MailboxRow {
  workspace_id: string;
  purpose: string;
  auth_method: MailboxAuthMethod;
  email: string | null;
  username: string;
  imap_host: string;
  imap_port: number;
  imap_security: MailSecurity;
  smtp_host: string;
  smtp_port: number;
  smtp_security: MailSecurity;
  password_enc: string | null;
  connection_id: string | null;
  use_idle: boolean;
  last_check_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  /** Failed checks since the last successful one. */
  error_count: number;
  created_at: Date;
  updated_at: Date;
}

export type MailboxWrite = Omit<MailboxRow, 'last_check_at' | 'last_success_at' | 'last_error' | 'error_count' | 'created_at' | 'updated_at'>;

export function mailboxQueries(db: Knex) {
  return {
    async find(workspaceId: string, purpose: string): Promise<MailboxRow | undefined> {
      return db('integration_mailboxes').where({ workspace_id: workspaceId, purpose }).first();
    },
    async upsert(row: MailboxWrite, now: Date): Promise<MailboxRow> {
      const { workspace_id, purpose, ...settings } = row;
      const [stored] = await db('integration_mailboxes')
        .insert({ ...row, created_at: now, updated_at: now })
        .onConflict(['workspace_id', 'purpose'])
        .merge({ ...settings, updated_at: now })
        .returning('*');
      return stored as MailboxRow;
    },
    /** A disconnected OAuth connection: its mailboxes go back to password auth (CONTRACT.md). */
    async revertToPassword(connectionId: string, now: Date): Promise<MailboxRow[]> {
      return db('integration_mailboxes')
        .where({ connection_id: connectionId })
        .update({ auth_method: 'password', connection_id: null, updated_at: now })
        .returning('*');
    },
    async pageEncrypted(after: [string, string] | undefined, limit: number): Promise<MailboxRow[]> {
      const q = db('integration_mailboxes').whereNotNull('password_enc').orderBy(['workspace_id', 'purpose']).limit(limit);
      if (after) q.whereRaw('(workspace_id, purpose) > (?, ?)', after);
      return q.select('*');
    },
    async replacePassword(workspaceId: string, purpose: string, expected: string, next: string): Promise<boolean> {
      return (await db('integration_mailboxes').where({ workspace_id: workspaceId, purpose, password_enc: expected }).update({ password_enc: next })) > 0;
    },
    /**
     * The health fields after a live check: a success sets `last_success_at` and clears `last_error` and
     * `error_count`; a failure sets `last_error` and adds one to `error_count`. One UPDATE, so concurrent checks
     * count each failure. Returns the row, or undefined when the mailbox is gone meanwhile.
     */
    async recordCheck(workspaceId: string, purpose: string, outcome: { ok: boolean; error?: string; at: Date }): Promise<MailboxRow | undefined> {
      const health = outcome.ok
        ? { last_check_at: outcome.at, last_success_at: outcome.at, last_error: null, error_count: 0 }
        : { last_check_at: outcome.at, last_error: (outcome.error ?? 'check failed').slice(0, 1000), error_count: db.raw('error_count + 1') };
      const [row] = await db('integration_mailboxes').where({ workspace_id: workspaceId, purpose }).update(health).returning('*');
      return row as MailboxRow | undefined;
    },
  };
}

export type MailboxQueries = ReturnType<typeof mailboxQueries>;
