import type { Logger } from 'winston';
import type { AuditEventWrite, AuditQueries } from '../queries/audit.js';
import type { AuditEvent } from './types.js';

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

/** Events from provider listeners are written together, at most this long after they happen. */
const BATCH_DELAY_MS = 50;
const BATCH_SIZE = 200;

export function auditLog(queries: AuditQueries, logger: Logger) {
  const pending = new Set<Promise<void>>();
  let batch: AuditEventWrite[] = [];
  let timer: NodeJS.Timeout | undefined;

  const insert = async (rows: AuditEventWrite[]): Promise<void> => {
    try {
      await queries.insert(...rows);
    } catch (error) {
      logger.error('audit write failed', { types: [...new Set(rows.map((row) => row.type))], count: rows.length, error: (error as Error).message });
    }
  };

  /** Writes the queued events in one multi-row INSERT. */
  const flushBatch = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!batch.length) return;
    const rows = batch;
    batch = [];
    const write = insert(rows).finally(() => pending.delete(write));
    pending.add(write);
  };

  return {
    /** Writes one event now (our services await it: the action and its event land together). */
    record: (event: AuditEvent): Promise<void> => insert([toRow(event)]),
    /**
     * For event listeners on the token endpoint's path: queued and written in batches (one INSERT for up to
     * BATCH_SIZE events, BATCH_DELAY_MS later), so a busy token endpoint does not pay one write per request.
     */
    recordLater(event: AuditEvent): void {
      batch.push(toRow(event));
      if (batch.length >= BATCH_SIZE) flushBatch();
      else timer ??= setTimeout(flushBatch, BATCH_DELAY_MS);
    },
    /** Writes what is queued and waits for every write in flight (tests, shutdown). */
    async flush(): Promise<void> {
      flushBatch();
      await Promise.all([...pending]);
    },
  };
}

export type AuditLog = ReturnType<typeof auditLog>;
