import type { Knex } from 'knex';
import type { StatementRunner } from '../db/knex.js';
import { preparedStatements } from './prepared.js';

export interface AuditEventWrite {
  type: string;
  outcome: 'success' | 'failure';
  actor: string;
  workspace_id?: string | null;
  client_id?: string | null;
  account_id?: string | null;
  ip?: string | null;
  request_id?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEventRow extends Required<Omit<AuditEventWrite, 'details'>> {
  id: string;
  created_at: Date;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  type?: string;
  client_id?: string;
  account_id?: string;
  actor?: string;
  request_id?: string;
  since?: Date;
  /** Only events older than this id (the cursor). */
  beforeId?: string;
  limit: number;
}

export function auditQueries(db: Knex, statements?: StatementRunner) {
  // Every token request writes an event: one prepared statement for any number of rows (one array per column).
  const insertRows = preparedStatements(db, statements)(
    'audit_events_insert_many',
    `INSERT INTO audit_events (type, outcome, actor, workspace_id, client_id, account_id, ip, request_id, details)
     SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::jsonb[])`,
  );
  return {
    async insert(...events: AuditEventWrite[]): Promise<void> {
      if (!events.length) return;
      const column = <K extends keyof AuditEventWrite>(key: K) => events.map((event) => event[key] ?? null);
      await insertRows([
        column('type'),
        column('outcome'),
        column('actor'),
        column('workspace_id'),
        column('client_id'),
        column('account_id'),
        column('ip'),
        column('request_id'),
        events.map((event) => JSON.stringify(event.details ?? {})),
      ]);
    },
    /** Newest first, keyset-paginated on the id. */
    async list(filter: AuditFilter): Promise<AuditEventRow[]> {
      const q = db('audit_events').orderBy('id', 'desc').limit(filter.limit);
      for (const key of ['type', 'client_id', 'account_id', 'actor', 'request_id'] as const) {
        if (filter[key] !== undefined) q.where(key, filter[key]);
      }
      if (filter.since) q.where('created_at', '>=', filter.since);
      if (filter.beforeId) q.where('id', '<', filter.beforeId);
      const rows = await q.select('*');
      // bigint ids come back as strings from pg; keep one type whatever the driver.
      return rows.map((row: AuditEventRow) => ({ ...row, id: String(row.id) }));
    },
    async deleteOlderThan(cutoff: Date): Promise<number> {
      return db('audit_events').where('created_at', '<', cutoff).delete();
    },
  };
}

export type AuditQueries = ReturnType<typeof auditQueries>;
