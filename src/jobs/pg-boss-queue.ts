import PgBoss from 'pg-boss';
import type { Logger } from 'winston';
import type { JobQueue } from './queue.js';

/** pg-boss keeps its tables in their own schema, next to ours (tests get one per run). */
export const jobsSchemaOf = (schema: string): string => (schema === 'public' ? 'pgboss' : `${schema}_pgboss`);

/**
 * pg-boss 10 (the last major that runs on Node 20) over the same Postgres: jobs are rows in its own schema, any
 * instance may fetch them (SKIP LOCKED), retries back off exponentially. https://timgit.github.io/pg-boss/
 */
export async function pgBossQueue(options: { connectionString: string; schema: string; logger: Logger }): Promise<JobQueue> {
  const boss = new PgBoss({ connectionString: options.connectionString, schema: options.schema, max: 4, supervise: true, schedule: true, migrate: true });
  boss.on('error', (error) => options.logger.warn('job queue error', { error: error.message }));
  await boss.start();
  const created = new Set<string>();
  const ensure = async (name: string) => {
    if (created.has(name)) return;
    // `stately`: at most one queued and one active job per singleton key (one refresh job per connection).
    await boss.createQueue(name, { name, policy: 'stately' });
    created.add(name);
  };

  return {
    async work(name, handler, workOptions) {
      await ensure(name);
      // One job per fetch and several workers: a failing job fails (and is retried) alone. A handler that throws
      // makes pg-boss retry the job (retryLimit / retryDelay / retryBackoff from send).
      for (let i = 0; i < (workOptions?.concurrency ?? 4); i += 1) {
        await boss.work(name, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
          if (job) await handler(job.data as never);
        });
      }
    },
    async send(name, data, sendOptions = {}) {
      await ensure(name);
      await boss.send(name, data, {
        startAfter: sendOptions.startAfter,
        singletonKey: sendOptions.singletonKey,
        retryLimit: sendOptions.retryLimit ?? 0,
        retryDelay: sendOptions.retryDelaySeconds ?? 1,
        retryBackoff: (sendOptions.retryLimit ?? 0) > 0,
      });
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
    async stop() {
      await boss.stop({ graceful: true, timeout: 5000, wait: true });
    },
  };
}
