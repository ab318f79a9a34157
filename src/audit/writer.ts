import type { Logger } from 'winston';
import type { AuditQueries } from '../queries/audit.js';
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
export function auditLog(queries: AuditQueries, logger: Logger) {
  const pending = new Set<Promise<void>>();

  const record = async (event: AuditEvent): Promise<void> => {
    try {
      await queries.insert({
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
    } catch (error) {
      logger.error('audit write failed', { type: event.type, error: (error as Error).message });
    }
  };

  return {
    record,
    /** For event listeners that cannot await: the write is tracked so `flush()` (tests, shutdown) can wait. */
    recordLater(event: AuditEvent): void {
      const write = record(event).finally(() => pending.delete(write));
      pending.add(write);
    },
    async flush(): Promise<void> {
      await Promise.all([...pending]);
    },
  };
}

export type AuditLog = ReturnType<typeof auditLog>;
