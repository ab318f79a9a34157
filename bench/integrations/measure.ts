import type { Knex } from 'knex';
import type { Config } from '../../src/config.js';
import { parseKeyRing } from '../../src/crypto/load-keyring.js';
import { connectionSealer } from '../../src/integrations/sealing.js';
import { PLAN_QUEUE, REFRESH_QUEUE } from '../../src/integrations/refresh-scheduler.js';
import { WEBHOOK_DELIVERY_QUEUE } from '../../src/webhooks/dispatcher.js';
import { jobsSchemaOf } from '../../src/jobs/pg-boss-queue.js';
import { createQueries } from '../../src/queries/index.js';
import type { CountingUpstream } from './counting-upstream.js';
import { opsPer, tableOps, type TableOps } from './table-stats.js';

/** A seeded link: when its access token expires and when its first refresh was planned (ms since the epoch). */
export interface Planned {
  id: string;
  expiresAt: number;
  plannedAt: number;
}

export interface Measured {
  refresh_calls: number;
  links_refreshed: number;
  /** First to last upstream refresh call. */
  phase_s: number;
  refreshes_per_s: number;
  /** Planned refresh times of the links span this long (the offered load is connections / this). */
  due_span_s: number;
  /** Links whose planned refresh time had passed before the instances were up (their lag counts from the start). */
  due_before_start: number;
  /** First refresh − planned time (or − the instances' start, for links planned before it). */
  lag_s: { p50: number; p99: number; max: number };
  /** Expiry − first refresh. */
  headroom_s: { min: number; p50: number };
  /** Never refreshed, or first refreshed after its access token expired. */
  missed_expiries: number;
  /** Upstream refreshes beyond one per link, plus presentations of an already-rotated refresh token. */
  duplicate_refreshes: number;
  duplicates: { extra_calls: number; reused_refresh_tokens: number };
  errors: number;
  error_detail: { integration_errors: number; jobs_failed: number; job_retries: number; not_active: number; rotation_lost: number };
  jobs: Record<string, number>;
  /** Per 10 s of planned refresh time since the instances' start: links due, and the worst lag among them. */
  timeline: Array<{ t: number; at: string; due: number; lag_max_s: number; busy_pct?: number }>;
  /** Row operations per refresh call on each table of ours and of the job queue, after seeding. */
  ops_per_refresh: Record<string, TableOps>;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

const BUCKET_MS = 10_000;

function timeline(refreshed: Array<Planned & { first: number }>, readyAt: number): Measured['timeline'] {
  const buckets = new Map<number, { due: number; lag: number }>();
  for (const p of refreshed) {
    const t = Math.max(0, Math.floor((p.plannedAt - readyAt) / BUCKET_MS)) * (BUCKET_MS / 1000);
    const bucket = buckets.get(t) ?? { due: 0, lag: 0 };
    bucket.due += 1;
    bucket.lag = Math.max(bucket.lag, p.first - Math.max(p.plannedAt, readyAt));
    buckets.set(t, bucket);
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).map(([t, b]) => ({ t, at: new Date(readyAt + t * 1000).toISOString().slice(11, 19), due: b.due, lag_max_s: seconds(b.lag) }));
}

/** The schemas a run's tables live in: ours and the job queue's. */
export const schemasOf = (config: Config) => [config.database.schema, jobsSchemaOf(config.database.schema)];

/**
 * What happened, from the upstream's books (calls, rotation) and the database (rows, errors, queue jobs, and the
 * table statistics since `opsBefore`).
 */
export async function measure(db: Knex, config: Config, upstream: CountingUpstream, planned: Planned[], readyAt: number, opsBefore: Map<string, TableOps>): Promise<Measured> {
  const firsts = planned.map((p) => ({ ...p, first: upstream.firstRefreshAt(p.id) }));
  const refreshed = firsts.filter((p): p is typeof p & { first: number } => p.first !== undefined);
  const lags = refreshed.map((p) => p.first - Math.max(p.plannedAt, readyAt)).sort((a, b) => a - b);
  const headrooms = refreshed.map((p) => p.expiresAt - p.first).sort((a, b) => a - b);
  const extraCalls = planned.reduce((n, p) => n + Math.max(0, upstream.refreshesOf(p.id) - 1), 0);
  const { firstAt = 0, lastAt = 0 } = upstream.span;
  const phaseMs = Math.max(1, lastAt - firstAt);
  const plannedTimes = planned.map((p) => p.plannedAt);

  const sealer = connectionSealer(parseKeyRing(config.encryptionKeys!));
  let notActive = 0;
  let rotationLost = 0;
  const { connections } = createQueries(db);
  for (let after: string | undefined, page; (page = await connections.pageEncrypted(after, 1000)).length; after = page.at(-1)!.id) {
    for (const row of page) {
      if (row.status !== 'active') notActive += 1;
      if (sealer.open(row, 'refresh_token', row.refresh_token_enc) !== upstream.currentRefreshToken(row.id)) rotationLost += 1;
    }
  }
  // Bench-only diagnostics, straight from the tables: the app has no query for them.
  const [{ count: integrationErrors }] = (await db('integration_errors').count({ count: '*' })) as [{ count: number }];
  const jobRows = (await db
    .withSchema(jobsSchemaOf(config.database.schema))
    .from('job')
    .where({ name: REFRESH_QUEUE })
    .groupBy('state')
    .select('state', db.raw('count(*)::int as count'), db.raw('sum(retry_count)::int as retries'))) as Array<{ state: string; count: number; retries: number }>;
  const jobs = Object.fromEntries(jobRows.map((r) => [r.state, r.count]));
  const detail = {
    integration_errors: Number(integrationErrors),
    jobs_failed: jobs.failed ?? 0,
    job_retries: jobRows.reduce((n, r) => n + r.retries, 0),
    not_active: notActive,
    rotation_lost: rotationLost,
  };
  return {
    refresh_calls: upstream.total,
    links_refreshed: upstream.linksRefreshed,
    phase_s: seconds(phaseMs),
    refreshes_per_s: Math.round((upstream.total / phaseMs) * 10_000) / 10,
    due_span_s: seconds(Math.max(...plannedTimes) - Math.min(...plannedTimes)),
    due_before_start: plannedTimes.filter((t) => t < readyAt).length,
    lag_s: { p50: seconds(quantile(lags, 0.5)), p99: seconds(quantile(lags, 0.99)), max: seconds(lags.at(-1) ?? NaN) },
    headroom_s: { min: seconds(headrooms[0] ?? NaN), p50: seconds(quantile(headrooms, 0.5)) },
    missed_expiries: firsts.filter((p) => p.first === undefined || p.first > p.expiresAt).length,
    duplicate_refreshes: extraCalls + upstream.reused,
    duplicates: { extra_calls: extraCalls, reused_refresh_tokens: upstream.reused },
    errors: Object.values(detail).reduce((a, b) => a + b, 0),
    error_detail: detail,
    jobs,
    timeline: timeline(refreshed, readyAt),
    ops_per_refresh: opsPer(opsBefore, await tableOps(db, schemasOf(config)), upstream.total, [REFRESH_QUEUE, PLAN_QUEUE, WEBHOOK_DELIVERY_QUEUE]),
  };
}
