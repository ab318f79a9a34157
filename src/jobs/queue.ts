/**
 * The job queue the lifecycle work runs on (scheduled refreshes, webhook deliveries). With Postgres it is
 * pg-boss (./pg-boss-queue.ts): jobs survive restarts and any instance may run them. On the embedded PGlite
 * default there is one instance and pg-boss cannot use PGlite (it opens its own `pg` pool), so jobs run in
 * process (./memory-queue.ts) — DESIGN.md, "Other facts that bite".
 */
export interface SendOptions {
  /** Not before this time. */
  startAfter?: Date;
  /** At most one queued job per key (a later send with the same key while one waits is dropped). */
  singletonKey?: string;
  /** Attempts after the first; delays double from `retryDelaySeconds` (exponential backoff). */
  retryLimit?: number;
  retryDelaySeconds?: number;
}

export type JobHandler<T> = (data: T) => Promise<void>;

export interface JobQueue {
  /** Declares a queue and runs its jobs on this instance with `handler`. */
  work<T extends object>(name: string, handler: JobHandler<T>, options?: { concurrency?: number }): Promise<void>;
  send<T extends object>(name: string, data: T, options?: SendOptions): Promise<void>;
  /** Several jobs of one queue, each as `send` takes it, in as few round trips as the queue allows (pg-boss: one per 1000). */
  sendMany<T extends object>(name: string, jobs: Array<{ data: T; options?: SendOptions }>): Promise<void>;
  /** Runs `handler` once a minute on one instance (pg-boss cron; a timer in process). */
  everyMinute(name: string, handler: () => Promise<void>): Promise<void>;
  /** Jobs waiting or running in a queue (metrics, tests). */
  depth(name: string): Promise<number>;
  /** Resolves when the queue can take and run jobs (readiness); throws once stopped or when its store does not answer. */
  check(): Promise<void>;
  stop(): Promise<void>;
}
