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
    // Postgres refuses U+0000 in text and jsonb: one such character would fail the row (and its whole batch).
    if (typeof value === 'string') out[key] = value.replaceAll('\u0000', '');
    else out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? scrub(value as Record<string, unknown>) : value;
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
/** How long an answer waits for its events at most: a stuck database must not hold every answer forever. */
const MAX_WAIT_MS = 5_000;
/** While writes fail (Postgres down), one log line per this long, with the count, instead of one per event. */
const FAILURE_LOG_EVERY_MS = 10_000;

export interface AuditLogOptions {
  maxWaitMs?: number;
}

export function auditLog(queries: AuditQueries, logger: Logger, { maxWaitMs = MAX_WAIT_MS }: AuditLogOptions = {}) {
  const pending = new Set<Promise<void>>();
  const insertGrouped = groupCommit<AuditEventWrite>({
    writeOne: (row) => queries.insert(row),
    writeMany: (rows) => queries.insert(...rows),
    maxInFlight: MAX_IN_FLIGHT,
    maxBatch: MAX_BATCH,
  });
  let failedSinceLog = 0;
  let loggedAt = -Infinity;
  const failed = (type: string, error: unknown) => {
    failedSinceLog += 1;
    if (Date.now() - loggedAt < FAILURE_LOG_EVERY_MS) return;
    logger.error('audit write failed', { type, failed: failedSinceLog, error: (error as Error)?.message });
    loggedAt = Date.now();
    failedSinceLog = 0;
  };

  return {
    /**
     * Writes one event; settles once it is stored. Never rejects: a failed write is logged and does not fail the
     * action that caused it (the action already happened).
     */
    record(event: AuditEvent): Promise<void> {
      let row: AuditEventWrite;
      try {
        row = toRow(event);
      } catch (error) {
        failed(event.type, error);
        return Promise.resolve();
      }
      const write = insertGrouped(row)
        .catch((error: unknown) => failed(row.type, error))
        .finally(() => pending.delete(write));
      pending.add(write);
      return write;
    },
    /**
     * Waits for these writes, at most `maxWaitMs` (then logs that an answer left before its events were stored;
     * the writes go on).
     */
    async settle(writes: Array<Promise<void>>): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), maxWaitMs);
      });
      const outcome = await Promise.race([Promise.all(writes), late]);
      clearTimeout(timer);
      if (outcome === 'late') logger.warn('answered before its audit events were stored', { events: writes.length, waited_ms: maxWaitMs });
    },
    /** Waits for every write in flight (tests, shutdown). */
    async flush(): Promise<void> {
      await Promise.all([...pending]);
    },
  };
}

export type AuditLog = ReturnType<typeof auditLog>;
