import { Gauge } from 'prom-client';
import type { Logger } from 'winston';
import type { JobQueue } from '../jobs/queue.js';
import type { Metrics } from './registry.js';

const DEPTH_TIMEOUT_MS = 2000;

/**
 * `job_queue_depth{queue}`: jobs waiting or running, read from the queue at scrape time (a gauge `collect`).
 * A queue that does not answer leaves its series out of that scrape rather than failing /metrics.
 */
export function observeQueueDepth(metrics: Metrics, queue: JobQueue, names: readonly string[], logger: Logger): void {
  new Gauge({
    name: 'job_queue_depth',
    help: 'Jobs waiting or running, by queue',
    labelNames: ['queue'],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      await Promise.all(
        names.map(async (name) => {
          try {
            const depth = await Promise.race([
              queue.depth(name),
              new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), DEPTH_TIMEOUT_MS).unref()),
            ]);
            this.set({ queue: name }, depth);
          } catch (error) {
            logger.warn('job queue depth unavailable', { queue: name, error: (error as Error)?.message });
          }
        }),
      );
    },
  });
}
