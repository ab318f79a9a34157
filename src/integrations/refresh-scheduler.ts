import type { Logger } from 'winston';
import type { JobQueue } from '../jobs/queue.js';
import type { ConnectionLeaseQueries } from '../queries/connection-leases.js';
import type { ConnectionRow } from '../queries/connections.js';

export const REFRESH_QUEUE = 'integration-refresh';
export const PLAN_QUEUE = 'integration-refresh-plan';
/**
 * The planner looks this far ahead each minute, so a connection is queued before its refresh time even when a
 * tick comes late (pg-boss cron ticks run up to ~15 s late; see ../jobs/pg-boss-queue.ts).
 */
const PLAN_HORIZON_MS = 2 * 60_000;
/**
 * At most this many connections per planner run. It must exceed what comes due within the horizon, or the
 * horizon shrinks to the cap and links wait for the next tick: 5000 did at 10,000 links over 150 s (~70 due/s,
 * up to 24 s late in bench:integrations). 50,000 covers 400 refreshes/s, more than an instance does.
 */
const PLAN_LIMIT = 50_000;

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
      const due = await leases.due(new Date(clock() + PLAN_HORIZON_MS), PLAN_LIMIT);
      // In batches (already queued ones are skipped by their singleton key): one by one, 5000 sends took 7 s.
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
