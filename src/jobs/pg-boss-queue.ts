import PgBoss from 'pg-boss';
import type { Logger } from 'winston';
import type { JobQueue, SendOptions } from './queue.js';

const INSERT_CHUNK = 1000;
/** Postgres `deadlock_detected` (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const DEADLOCK = '40P01';

/** Our send options in pg-boss terms: retries back off exponentially from `retryDelaySeconds`. */
const jobOptions = (options: SendOptions = {}) => ({
  startAfter: options.startAfter,
  singletonKey: options.singletonKey,
  retryLimit: options.retryLimit ?? 0,
  retryDelay: options.retryDelaySeconds ?? 1,
  retryBackoff: (options.retryLimit ?? 0) > 0,
});

/** pg-boss keeps its tables in their own schema, next to ours (tests get one per run). */
export const jobsSchemaOf = (schema: string): string => (schema === 'public' ? 'pgboss' : `${schema}_pgboss`);

/**
 * pg-boss 10 (the last major that runs on Node 20) over the same Postgres: jobs are rows in its own schema, any
 * instance may fetch them (SKIP LOCKED), retries back off exponentially. https://timgit.github.io/pg-boss/
 */
export async function pgBossQueue(options: { connectionString: string; schema: string; logger: Logger }): Promise<JobQueue> {
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema: options.schema,
    max: 4,
    supervise: true,
    schedule: true,
    migrate: true,
    // A cron tick is noticed by a monitor (default every 30 s) that queues it for a worker (default polling 5 s):
    // minute jobs ran up to ~40 s late (bench:integrations). Checked more often, they run within ~15 s.
    cronMonitorIntervalSeconds: 10,
    cronWorkerIntervalSeconds: 2,
  });
  boss.on('error', (error) => options.logger.warn('job queue error', { error: error.message }));
  await boss.start();
  const created = new Set<string>();
  let stopped = false;
  const ensure = async (name: string) => {
    if (created.has(name)) return;
    // Creating a queue is DDL (a partition of pg-boss's job table with a foreign key to its queue table): two
    // creations at once deadlock, and Postgres aborts one (40P01; instances starting together in bench:integrations).
    // The aborted one waits a random moment and looks again; a queue that exists is not created again.
    for (let attempt = 1; ; attempt += 1) {
      try {
        // `stately`: at most one queued and one active job per singleton key (one refresh job per connection).
        if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, policy: 'stately' });
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== DEADLOCK || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200 * attempt));
      }
    }
    created.add(name);
  };

  return {
    async work(name, handler, workOptions) {
      await ensure(name);
      // One job per fetch and several workers: a failing job fails (and is retried) alone. A handler that throws
      // makes pg-boss retry the job (retryLimit / retryDelay / retryBackoff from send).
      // A pg-boss 10 worker sleeps out its polling interval after every fetch, even one that found a job: one
      // job per worker per interval (8 workers, 0.5 s: 16 jobs/s per instance, measured in bench:integrations).
      // After a job the worker is notified, so it fetches again at once while there is work and sleeps only
      // when the queue is empty.
      for (let i = 0; i < (workOptions?.concurrency ?? 4); i += 1) {
        let workerId: string | undefined;
        workerId = await boss.work(name, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
          if (!job) return;
          try {
            await handler(job.data as never);
          } finally {
            if (workerId) boss.notifyWorker(workerId);
          }
        });
      }
    },
    async send(name, data, sendOptions = {}) {
      await ensure(name);
      await boss.send(name, data, jobOptions(sendOptions));
    },
    async sendMany(name, jobs) {
      await ensure(name);
      // One INSERT … ON CONFLICT DO NOTHING per chunk: a singleton key that already has a queued job is skipped,
      // as with `send`. Sequential sends cost a round trip each (5000 took 7 s on the bench machine; this, 0.4 s).
      for (let at = 0; at < jobs.length; at += INSERT_CHUNK) {
        await boss.insert(jobs.slice(at, at + INSERT_CHUNK).map((job) => ({ name, data: job.data, ...jobOptions(job.options) })));
      }
    },
    async everyMinute(name, handler) {
      await ensure(name);
      await boss.schedule(name, '* * * * *'); // pg-boss sends one job per tick across all instances
      await boss.work(name, { batchSize: 1, pollingIntervalSeconds: 2 }, async () => handler());
    },
    async depth(name) {
      await ensure(name);
      return boss.getQueueSize(name);
    },
    async check() {
      if (stopped) throw new Error('job queue stopped');
      // A query through pg-boss's own pool (it is not ours: its pool may fail while knex's works).
      if (!(await boss.schemaVersion())) throw new Error('pg-boss schema missing');
    },
    async stop() {
      stopped = true;
      await boss.stop({ graceful: true, timeout: 5000, wait: true });
    },
  };
}
