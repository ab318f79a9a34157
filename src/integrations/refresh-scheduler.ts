import type { Logger } from 'winston';
import type { JobQueue } from '../jobs/queue.js';
import type { ConnectionLeaseQueries } from '../queries/connection-leases.js';
import type { ConnectionRow } from '../queries/connections.js';

export const REFRESH_QUEUE = 'integration-refresh';
export const PLAN_QUEUE = 'integration-refresh-plan';
/** The planner looks this far ahead each minute, so a connection is queued before its refresh time. */
const PLAN_HORIZON_MS = 2 * 60_000;

/**
 * Refresh ahead of expiry: each active connection gets one queued job at `expires_at − margin − jitter`
 * (`singletonKey` = the connection, so it is queued once), and a once-a-minute planner re-queues anything due
 * that has no job (after a restart of the in-process queue, or rows written by another path). The job itself
 * runs `runScheduled`, which takes the connection's lease — so N instances refresh each connection once.
 */
export function refreshScheduler(deps: { queue: JobQueue; leases: ConnectionLeaseQueries; marginSeconds: number; clock: () => number; logger: Logger; random?: () => number }) {
  const { queue, leases, clock, logger } = deps;
  const random = deps.random ?? Math.random;

  /** When to refresh: a margin before expiry, minus up to a minute (or a tenth of the lifetime) of jitter. */
  const refreshTime = (row: Pick<ConnectionRow, 'expires_at'>): Date | null => {
    if (!row.expires_at) return null;
    const expiresAt = new Date(row.expires_at).getTime();
    const lifetime = Math.max(0, expiresAt - clock());
    const jitter = random() * Math.min(60_000, lifetime / 10);
    return new Date(Math.max(clock(), expiresAt - deps.marginSeconds * 1000 - jitter));
  };

  const jobOf = (id: string, at: Date) => ({ data: { connectionId: id }, options: { startAfter: at, singletonKey: id, retryLimit: 5, retryDelaySeconds: 30 } });
  const enqueue = (id: string, at: Date) => {
    const job = jobOf(id, at);
    return queue.send(REFRESH_QUEUE, job.data, job.options);
  };

  /** Plans the next scheduled refresh of a connection that was just linked or refreshed. */
  async function planNext(row: ConnectionRow): Promise<void> {
      const at = row.status === 'active' && row.refresh_token_enc ? refreshTime(row) : null;
      try {
        await leases.setNextRefresh(row.id, at);
        // Far-off refreshes are left to the planner: a job per connection stays short-lived in the queue.
        if (at && at.getTime() - clock() < PLAN_HORIZON_MS) await enqueue(row.id, at);
      } catch (error) {
        logger.warn('planning the next refresh failed (the minute planner will pick it up)', { connection_id: row.id, error: (error as Error).message });
      }
  }

  /** Queues every connection due within the horizon. Returns how many were looked at. */
  async function planDue(): Promise<number> {
      const due = await leases.due(new Date(clock() + PLAN_HORIZON_MS), 5000);
      // In one go: queued one by one, 5000 jobs took long enough (7–18 s under load) that links came due before
      // their job existed (bench:integrations, 3 instances × 10,000 links: p99 lag 18 s).
      await queue.sendMany(
        REFRESH_QUEUE,
        due.map((row) => jobOf(row.id, row.next_refresh_at ? new Date(row.next_refresh_at) : refreshTime(row)!)),
      );
      return due.length;
  }

  return {
    refreshTime,
    planNext,
    planDue,

    /** Registers the worker and the minute planner on this instance, and plans once now. */
    async start(runScheduled: (connectionId: string) => Promise<void>): Promise<void> {
      await queue.work<{ connectionId: string }>(REFRESH_QUEUE, ({ connectionId }) => runScheduled(connectionId), { concurrency: 8 });
      await queue.everyMinute(PLAN_QUEUE, async () => {
        await planDue();
      });
      await planDue();
    },
  };
}

export type RefreshScheduler = ReturnType<typeof refreshScheduler>;
