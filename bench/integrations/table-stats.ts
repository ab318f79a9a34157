import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** Row operations on one table, from Postgres' own statistics (pg_stat_user_tables). */
export interface TableOps {
  scans: number;
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Bench-only diagnostics: what our tables and the job queue's saw, per table ("schema.table"). Postgres reports a
 * backend's counts when its transaction ends (at most once a second when busy), so read well after the work.
 */
export async function tableOps(db: Knex, schemas: string[]): Promise<Map<string, TableOps>> {
  const rows = (await db('pg_catalog.pg_stat_user_tables')
    .whereIn('schemaname', schemas)
    .select(
      db.raw(`schemaname || '.' || relname as name`),
      db.raw('coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans'),
      'n_tup_ins as inserted',
      'n_tup_upd as updated',
      'n_tup_del as deleted',
    )) as Array<{ name: string } & TableOps>;
  return new Map(rows.map(({ name, ...ops }) => [name, { scans: Number(ops.scans), inserted: Number(ops.inserted), updated: Number(ops.updated), deleted: Number(ops.deleted) }]));
}

/** pg-boss 10 keeps each queue's jobs in a partition named 'j' + sha224(queue name): named by queue here. */
export const queuePartition = (queue: string) => `j${createHash('sha224').update(queue).digest('hex')}`;

/** after − before, per table, per `per` (e.g. per refresh), leaving out tables that saw nothing. */
export function opsPer(before: Map<string, TableOps>, after: Map<string, TableOps>, per: number, queues: string[]): Record<string, TableOps> {
  const names = new Map(queues.map((queue) => [queuePartition(queue), `jobs of ${queue}`]));
  const out: Record<string, TableOps> = {};
  const r = (n: number) => Math.round((n / Math.max(1, per)) * 100) / 100;
  for (const [name, a] of after) {
    const b = before.get(name) ?? { scans: 0, inserted: 0, updated: 0, deleted: 0 };
    const d = { scans: r(a.scans - b.scans), inserted: r(a.inserted - b.inserted), updated: r(a.updated - b.updated), deleted: r(a.deleted - b.deleted) };
    const table = name.slice(name.indexOf('.') + 1);
    if (d.scans || d.inserted || d.updated || d.deleted) out[names.get(table) ?? (name.includes('_pgboss.') ? `queue: ${table.slice(0, 9)}` : table)] = d;
  }
  return out;
}
