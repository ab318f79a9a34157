import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { runScenario, type ScenarioResult } from './integrations/scenario.js';

/**
 * Scheduled refresh of linked accounts at scale (issue 6): N links to a counting upstream that rotates refresh
 * tokens, access tokens expiring evenly over a window, refreshed ahead of expiry by 1 and then by 3 app
 * instances (child processes running dist/src/main.js over one Postgres schema and Redis prefix). Reports
 * refreshes/s, missed expiries and duplicate refreshes (both targets 0).
 * Usage: `npm run bench:integrations -- [--connections 10000] [--window 150] [--instances 1,3]` with DATABASE_URL
 * and REDIS_URL set.
 */
const USAGE = 'npm run bench:integrations -- [--connections N] [--window SECONDS] [--lead SECONDS] [--instances 1,3] [--deadline SECONDS] [--cpu-prof DIR]';

function options() {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      window: { type: 'string', default: '150' },
      lead: { type: 'string' },
      instances: { type: 'string', default: '1,3' },
      deadline: { type: 'string', default: '240' },
      'cpu-prof': { type: 'string' },
    },
  });
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}\nusage: ${USAGE}`);
    return n;
  };
  return {
    connections: Math.floor(number('connections', values.connections, 1)),
    windowSeconds: number('window', values.window, 0),
    leadSeconds: values.lead === undefined ? undefined : number('lead', values.lead, 0),
    instances: values.instances.split(',').map((n) => Math.floor(number('instances', n, 1))),
    deadlineSeconds: number('deadline', values.deadline, 10),
    cpuProfileDir: values['cpu-prof'],
  };
}

const cell = (value: string | number, width: number) => String(value).padStart(width);

function table(results: ScenarioResult[]): string {
  const head = ['instances', 'links', 'wall s', 'phase s', 'refresh/s', 'lag p50/p99/max s', 'min headroom s', 'missed', 'duplicates', 'errors'];
  const rows = results.map((r) => [
    r.instances,
    r.connections,
    r.wall_s,
    r.phase_s,
    r.refreshes_per_s,
    `${r.lag_s.p50}/${r.lag_s.p99}/${r.lag_s.max}`,
    r.headroom_s.min,
    r.missed_expiries,
    r.duplicate_refreshes,
    r.errors,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  return [head, ...rows].map((row) => row.map((v, i) => cell(v, widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const base = loadConfig();
  if (!base.database.url || !base.redis.url) {
    process.stderr.write('bench:integrations needs DATABASE_URL and REDIS_URL (a real Postgres and Redis; several instances share them).\n');
    process.exit(1);
  }
  const opts = options();
  // Refresh time = expiry − margin − jitter (≤ 60 s): the first links come due about half a minute after seeding
  // and starting the instances (seeding runs at a few hundred links per second).
  const leadSeconds = opts.leadSeconds ?? base.integrations.refreshMarginSeconds + 90 + Math.ceil(opts.connections / 300);
  const results: ScenarioResult[] = [];
  for (const instances of opts.instances) {
    results.push(await runScenario({ ...opts, instances, leadSeconds, databaseUrl: base.database.url, redisUrl: base.redis.url }));
  }
  const date = new Date().toISOString();
  process.stdout.write(
    `\nscheduled refresh: ${opts.connections} links, expiries over ${opts.windowSeconds} s from +${leadSeconds} s, refresh margin ${base.integrations.refreshMarginSeconds} s (${date})\n${table(results)}\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `  ${r.instances} instance(s): seed ${r.seed_s} s, start ${r.start_s} s, due over ${r.due_span_s} s (${r.due_before_start} before the start), ${r.refresh_calls} calls for ${r.links_refreshed} links, median headroom ${r.headroom_s.p50} s; ` +
        `CPU s: instances ${r.cpu_s.instances.join('+')}, upstream+bench ${r.cpu_s.upstream_and_bench}, postgres (all) ${r.cpu_s.postgres_all}, machine busy ${r.cpu_s.machine_busy_pct} %; ` +
        `jobs ${JSON.stringify(r.jobs)}; log warn ${r.log.warn} error ${r.log.error}${r.log.samples.length ? ` (${r.log.samples.join('; ')})` : ''}\n`,
    );
    const ops = Object.entries(r.ops_per_refresh).map(([table, o]) => `${table} ${o.inserted}/${o.updated}/${o.deleted}/${o.scans}`);
    process.stdout.write(`    rows inserted/updated/deleted/scans per refresh: ${ops.join(', ')}\n`);
    const lagging = r.timeline.filter((bucket) => bucket.lag_max_s > 1);
    if (lagging.length) {
      process.stdout.write(`    lag > 1 s (planned time +s from the start, clock, links due, worst lag, machine CPU busy): ${lagging.map((b) => `+${b.t} ${b.at} ${b.due} ${b.lag_max_s}s ${b.busy_pct ?? '?'}%`).join(', ')}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ bench: 'integrations-refresh', date, window_s: opts.windowSeconds, lead_s: leadSeconds, results })}\n`);
  if (results.some((r) => r.missed_expiries || r.duplicate_refreshes || r.links_refreshed < r.connections)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
