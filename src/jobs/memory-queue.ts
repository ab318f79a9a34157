import type { Logger } from 'winston';
import type { JobHandler, JobQueue, SendOptions } from './queue.js';

interface Pending {
  data: object;
  attempt: number;
  options: SendOptions;
  timer?: NodeJS.Timeout;
}

/** Longest setTimeout Node accepts; later jobs are re-armed when it fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * The in-process queue for the embedded single-instance default: timers per job, retries with doubling delays,
 * one key per singleton. Jobs do not survive a restart; the refresh scheduler re-plans from the database at start.
 */
export function memoryQueue(logger: Logger, now: () => number = Date.now): JobQueue {
  const handlers = new Map<string, { handler: JobHandler<object>; concurrency: number; running: number; ready: Pending[] }>();
  const waiting = new Map<string, Set<Pending>>();
  const singletons = new Map<string, Pending>();
  const intervals: NodeJS.Timeout[] = [];
  let stopped = false;

  const queueOf = (name: string) => {
    let set = waiting.get(name);
    if (!set) waiting.set(name, (set = new Set()));
    return set;
  };

  const drain = (name: string) => {
    const worker = handlers.get(name);
    if (!worker || stopped) return;
    while (worker.running < worker.concurrency && worker.ready.length) {
      const job = worker.ready.shift()!;
      worker.running += 1;
      worker
        .handler(job.data)
        .then(
          () => finish(name, job),
          (error: unknown) => {
            const limit = job.options.retryLimit ?? 0;
            if (job.attempt < limit && !stopped) {
              const delay = (job.options.retryDelaySeconds ?? 1) * 1000 * 2 ** job.attempt;
              arm(name, { ...job, attempt: job.attempt + 1, options: { ...job.options, startAfter: new Date(now() + delay) } });
              queueOf(name).delete(job);
            } else {
              logger.warn('job failed for good', { queue: name, attempts: job.attempt + 1, error: (error as Error)?.message });
              finish(name, job);
            }
          },
        )
        .finally(() => {
          worker.running -= 1;
          drain(name);
        });
    }
  };

  const finish = (name: string, job: Pending) => {
    queueOf(name).delete(job);
    const key = job.options.singletonKey;
    if (key && singletons.get(`${name}:${key}`) === job) singletons.delete(`${name}:${key}`);
  };

  const arm = (name: string, job: Pending) => {
    queueOf(name).add(job);
    const key = job.options.singletonKey;
    if (key) singletons.set(`${name}:${key}`, job);
    const delay = Math.max(0, (job.options.startAfter?.getTime() ?? now()) - now());
    const fire = () => {
      job.timer = undefined;
      handlers.get(name)?.ready.push(job);
      drain(name);
    };
    job.timer = setTimeout(delay > MAX_DELAY_MS ? () => arm(name, job) : fire, Math.min(delay, MAX_DELAY_MS));
    job.timer.unref();
  };

  const send: JobQueue['send'] = async (name, data, options = {}) => {
    if (stopped) return;
    const key = options.singletonKey;
    if (key && singletons.has(`${name}:${key}`)) return;
    arm(name, { data, attempt: 0, options });
  };

  return {
    async work(name, handler, options) {
      handlers.set(name, { handler: handler as JobHandler<object>, concurrency: options?.concurrency ?? 4, running: 0, ready: [] });
    },
    send,
    async sendMany(name, jobs) {
      for (const job of jobs) await send(name, job.data, job.options);
    },
    async everyMinute(name, handler) {
      const timer = setInterval(() => {
        handler().catch((error: unknown) => logger.warn('scheduled job failed', { job: name, error: (error as Error)?.message }));
      }, 60_000);
      timer.unref();
      intervals.push(timer);
    },
    async depth(name) {
      return waiting.get(name)?.size ?? 0;
    },
    async check() {
      if (stopped) throw new Error('job queue stopped');
    },
    async stop() {
      stopped = true;
      intervals.forEach(clearInterval);
      for (const set of waiting.values()) for (const job of set) if (job.timer) clearTimeout(job.timer);
      waiting.clear();
      singletons.clear();
    },
  };
}
