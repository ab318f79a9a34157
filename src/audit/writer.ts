import type { Logger } from 'winston';
import type { AuditEventWrite, AuditQueries } from '../queries/audit.js';
import type { AuditEvent } from './types.js';
import { groupCommit } from '../queries/group-commit.js';

/** Keys that may carry a secret: never stored, whatever a caller passes (defence in depth). */
const SECRET_KEY = /(token|secret|password|assertion|verifier|cookie|authorization)$|^code$/i;

function scrub(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details ?? {})) {
    if (value === undefined || SECRET_KEY.test(key)) continue;
    out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? scrub(value as Record<string, unknown>) : value;
  }
  return out;
}

/**
 * The one audit writer: provider events and our services feed it. A failed write is logged and never
 * fails the action that caused it (the action already happened).
 */
const toRow = (event: AuditEvent): AuditEventWrite => ({
  type: event.type,
  outcome: event.outcome ?? 'success',
  actor: event.actor,
  workspace_id: event.workspaceId ?? null,
  client_id: event.clientId ?? null,
  account_id: event.accountId ?? null,
  ip: event.ip ?? null,
  request_id: event.requestId ?? null,
  details: scrub(event.details),
});

/**
 * Audit rows are written with group commit (src/queries/group-commit.ts): alone and at once while the database
 * keeps up, together in one INSERT while a write is already running. Nothing waits on a timer, so a caller can
 * afford to await its row before it answers (the provider's responses do: src/audit/provider-events.ts).
 */
const MAX_BATCH = 200;
const MAX_IN_FLIGHT = 1;

export function auditLog(queries: AuditQueries, logger: Logger) {
  const pending = new Set<Promise<void>>();
  const insertGrouped = groupCommit<AuditEventWrite>({
    writeOne: (row) => queries.insert(row),
    writeMany: (rows) => queries.insert(...rows),
    maxInFlight: MAX_IN_FLIGHT,
    maxBatch: MAX_BATCH,
  });

  return {
    /**
     * Writes one event; settles once it is stored. Never rejects: a failed write is logged and does not fail the
     * action that caused it (the action already happened).
     */
    record(event: AuditEvent): Promise<void> {
      const row = toRow(event);
      const write = insertGrouped(row)
        .catch((error: unknown) => {
          logger.error('audit write failed', { type: row.type, error: (error as Error).message });
        })
        .finally(() => pending.delete(write));
      pending.add(write);
      return write;
    },
    /** Waits for every write in flight (tests, shutdown). */
    async flush(): Promise<void> {
      await Promise.all([...pending]);
    },
  };
}

export type AuditLog = ReturnType<typeof auditLog>;
