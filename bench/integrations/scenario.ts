import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.js';
import { createContext } from '../../src/context.js';
import { openDatabase, type Database } from '../../src/db/knex.js';
import { connectionSealer } from '../../src/integrations/sealing.js';
import { refreshScheduler } from '../../src/integrations/refresh-scheduler.js';
import { memoryQueue } from '../../src/jobs/memory-queue.js';
import { jobsSchemaOf } from '../../src/jobs/pg-boss-queue.js';
import { createLogger } from '../../src/logger.js';
import { startCountingUpstream, writeProvidersFile, type CountingUpstream } from './counting-upstream.js';
import { machineTimes, postgresCpuSeconds } from './cpu.js';
import { startInstance, type Instance } from './instances.js';
import { measure, schemasOf, type Measured, type Planned } from './measure.js';
import { tableOps } from './table-stats.js';
import { seedLinks } from './seed.js';

export interface ScenarioOptions {
  connections: number;
  instances: number;
  /** Expiries are spread evenly over this many seconds … */
  windowSeconds: number;
  /** … starting this many seconds after seeding begins. */
  leadSeconds: number;
  /** Give up this long after the last planned refresh time. */
  deadlineSeconds: number;
  databaseUrl: string;
  redisUrl: string;
  /** Instances write a V8 CPU profile here when set. */
  cpuProfileDir?: string;
}

export interface ScenarioResult extends Measured {
  instances: number;
  connections: number;
  seed_s: number;
  start_s: number;
  wall_s: number;
  cpu_s: { instances: number[]; upstream_and_bench: number; postgres_all: number; machine_busy_pct: number };
  log: { warn: number; error: number; samples: string[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (line: string) => process.stderr.write(`  ${line}\n`);

/** Links the accounts through one short-lived app context (as linking would), planning each refresh as linking does. */
async function seed(config: Config, upstream: CountingUpstream, options: ScenarioOptions): Promise<Planned[]> {
  const logger = createLogger('warn');
  const context = await createContext(config, { logger });
  const queue = memoryQueue(logger); // refreshTime only: nothing is sent to it
  try {
    const scheduler = refreshScheduler({ queue, leases: context.queries.connectionLeases, marginSeconds: config.integrations.refreshMarginSeconds, clock: Date.now, logger });
    const t0 = Date.now() + options.leadSeconds * 1000;
    const expiries = Array.from({ length: options.connections }, (_, i) => new Date(t0 + (options.windowSeconds * 1000 * (i + 0.5)) / options.connections));
    const planned: Planned[] = [];
    await seedLinks({ connections: context.queries.connections, sealer: connectionSealer(context.keyring), upstream }, expiries, {
      concurrency: 8,
      // What linking does after storing a link (planNext): the time of its first refresh, picked up by the planner.
      afterEach: async (row) => {
        const at = scheduler.refreshTime(row)!;
        await context.queries.connectionLeases.setNextRefresh(row.id, at);
        planned.push({ id: row.id, expiresAt: new Date(row.expires_at!).getTime(), plannedAt: at.getTime() });
      },
    });
    return planned;
  } finally {
    await queue.stop();
    await context.close();
  }
}

async function cleanUp(config: Config, redisUrl: string): Promise<void> {
  const { db, close } = await openDatabase(config);
  try {
    await db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [config.database.schema]);
    await db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [jobsSchemaOf(config.database.schema)]);
  } finally {
    await close();
  }
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.keyPrefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * One run: a fresh schema and Redis prefix, N links seeded with staggered expiries, `instances` app processes
 * with scheduled refresh over them, until every link was refreshed once (or the deadline), then measured and
 * dropped.
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-integrations-'));
  const upstream = await startCountingUpstream();
  const encryptionKeys = `bench:${randomBytes(32).toString('base64')}`;
  const config = loadConfig(undefined, {
    logLevel: 'warn',
    seedDemo: false,
    sweepIntervalSeconds: 0,
    dataDir,
    encryptionKeys,
    providersFile: writeProvidersFile(upstream),
    database: { url: options.databaseUrl, schema: `bench_int_${id}` },
    redis: { url: options.redisUrl, keyPrefix: `bench:int:${id}:` },
    integrations: { scheduledRefresh: false },
  });
  const instances: Instance[] = [];
  const started = Date.now();
  let database: Database | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    progress(`${options.instances} instance(s): seeding ${options.connections} links (schema ${config.database.schema}) …`);
    const planned = await seed(config, upstream, options);
    const seeded = Date.now();
    database = await openDatabase(config);
    const opsBefore = await tableOps(database.db, schemasOf(config));
    const env = {
      NODE_ENV: 'production',
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: options.databaseUrl,
      DATABASE_SCHEMA: config.database.schema,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: config.redis.keyPrefix,
      ENCRYPTION_KEYS: encryptionKeys,
      PROVIDERS_FILE: config.providersFile!,
      INTEGRATIONS_SCHEDULED_REFRESH: 'true',
    };
    const execArgv = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    const pgBefore = postgresCpuSeconds();
    const machineBefore = machineTimes();
    const benchBefore = process.cpuUsage();
    instances.push(...(await Promise.all(Array.from({ length: options.instances }, () => startInstance(env, execArgv)))));
    const ready = Date.now();
    progress(`seeded in ${((seeded - started) / 1000).toFixed(1)} s, ${options.instances} instance(s) up in ${((ready - seeded) / 1000).toFixed(1)} s; refreshes come due until +${Math.round((Math.max(...planned.map((p) => p.plannedAt)) - ready) / 1000)} s`);

    // The machine's CPU use per 10 s from the start (other work on the machine included), next to the lag timeline.
    const busy = new Map<number, number>();
    let sampled = machineTimes();
    sampler = setInterval(() => {
      const now = machineTimes();
      busy.set(busy.size * 10, Math.round((100 * (now.busy - sampled.busy)) / Math.max(1, now.all - sampled.all)));
      sampled = now;
    }, 10_000);
    const deadline = Math.max(...planned.map((p) => p.plannedAt)) + options.deadlineSeconds * 1000;
    let lastReport = Date.now();
    while (upstream.linksRefreshed < options.connections && Date.now() < deadline) {
      await sleep(500);
      if (Date.now() - lastReport >= 15_000) {
        lastReport = Date.now();
        const due = planned.filter((p) => p.plannedAt <= lastReport).length;
        progress(`+${Math.round((lastReport - ready) / 1000)} s: ${upstream.linksRefreshed}/${options.connections} refreshed, ${due} due, ${upstream.total} upstream calls`);
      }
    }
    await sleep(5000); // anything that would refresh a second time gets the chance to show
    clearInterval(sampler);
    const cpuInstances = instances.map((instance) => instance.cpuSeconds());
    const pgAfter = postgresCpuSeconds();
    const machineAfter = machineTimes();
    const benchCpu = process.cpuUsage(benchBefore);
    await Promise.all(instances.map((instance) => instance.stop()));
    await sleep(1500); // Postgres publishes a backend's table statistics within a second
    const measured = await measure(database.db, config, upstream, planned, ready, opsBefore);
    return {
      instances: options.instances,
      connections: options.connections,
      seed_s: round((seeded - started) / 1000),
      start_s: round((ready - seeded) / 1000),
      wall_s: round((Date.now() - started) / 1000),
      ...measured,
      timeline: measured.timeline.map((bucket) => ({ ...bucket, busy_pct: busy.get(bucket.t) })),
      cpu_s: {
        instances: cpuInstances.map(round),
        upstream_and_bench: round((benchCpu.user + benchCpu.system) / 1e6),
        postgres_all: round([...pgAfter].reduce((sum, [pid, cpu]) => sum + cpu - (pgBefore.get(pid) ?? 0), 0)),
        machine_busy_pct: Math.round((100 * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.all - machineBefore.all)),
      },
      log: {
        warn: instances.reduce((n, i) => n + i.log.warn, 0),
        error: instances.reduce((n, i) => n + i.log.error, 0),
        samples: [...new Set(instances.flatMap((i) => i.log.samples))].slice(0, 5),
      },
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(instances.map((instance) => instance.stop().catch(() => {})));
    await database?.close();
    await cleanUp(config, options.redisUrl).catch((error: unknown) => progress(`clean-up failed: ${(error as Error).message}`));
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(path.dirname(config.providersFile!), { recursive: true, force: true });
  }
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
