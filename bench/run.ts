import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startServerChild, type ServerChild } from './side-by-side/children.js';
import type { Memory } from './side-by-side/protocol.js';
import { SCENARIOS, type Scenario, type Settings } from './side-by-side/scenarios.js';
import type { LoadResult } from './side-by-side/load-spec.js';
import { combineRounds, notes, table, type Row } from './side-by-side/table.js';

/**
 * This server over real Postgres and Redis side by side with a bare oidc-provider (in-memory adapter), in
 * the same run (issue 7, "Benchmarks"). Three kinds of process: our server, the bare server, and a load
 * generator per phase (autocannon, or the flow driver for the authorization-code scenario).
 * Usage: `npm run bench -- [--duration 10] [--warmup 3] [--connections 32] [--scenarios a,b] [--profile DIR]
 * [--bare-login scrypt|none] [--bare-store memory|redis] [--rounds N]` with DATABASE_URL and REDIS_URL set.
 * `--subject bare-redis` measures, in place of ours, the bare library itself over a Redis adapter (bench/redis-adapter.ts)
 * against the same library in memory: what a shared store alone costs the library, the floor of any server whose
 * instances share their tokens (issue 7, "Scale-out"). Only the scenarios the bare library has; the table says which.
 * `--rounds N` measures each scenario N times, ours and bare back to back each time (in turn first, so a machine that
 * speeds up or slows down during the run weighs on both alike), and reports medians and the median of the paired ratios.
 */
const USAGE = `usage: npm run bench -- [--duration SECONDS] [--warmup SECONDS] [--connections N] [--scenarios ${Object.keys(SCENARIOS).join(',')}] [--profile DIR] [--bare-login scrypt|none] [--bare-store memory|redis] [--rounds N] [--ours-only] [--subject ours|bare-redis]`;

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
      profile: { type: 'string' },
      'bare-login': { type: 'string', default: 'scrypt' },
      'bare-store': { type: 'string', default: 'memory' },
      'ours-only': { type: 'boolean', default: false },
      subject: { type: 'string', default: 'ours' },
      rounds: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}\n${USAGE}`);
    return n;
  };
  const scenarios = values.scenarios.split(',').map((name) => {
    const scenario = SCENARIOS[name.trim()];
    if (!scenario) throw new Error(`unknown scenario ${name}\n${USAGE}`);
    return scenario;
  });
  if (!['scrypt', 'none'].includes(values['bare-login'])) throw new Error(`--bare-login must be scrypt or none\n${USAGE}`);
  if (!['memory', 'redis'].includes(values['bare-store'])) throw new Error(`--bare-store must be memory or redis\n${USAGE}`);
  if (!['ours', 'bare-redis'].includes(values.subject)) throw new Error(`--subject must be ours or bare-redis\n${USAGE}`);
  if (values.subject === 'bare-redis' && values['bare-store'] !== 'memory') throw new Error(`--subject bare-redis measures against the bare library in memory: leave out --bare-store\n${USAGE}`);
  return {
    durationSeconds: number('duration', values.duration, 1),
    warmupSeconds: number('warmup', values.warmup, 0),
    connections: Math.floor(number('connections', values.connections, 1)),
    scenarios,
    profileDir: values.profile ? path.resolve(values.profile) : undefined,
    bareLogin: values['bare-login'],
    bareStore: values['bare-store'],
    oursOnly: values['ours-only'],
    rounds: Math.floor(number('rounds', values.rounds, 1)),
    subject: values.subject as 'ours' | 'bare-redis',
  };
}

type Options = ReturnType<typeof options>;
const log = (line: string) => process.stderr.write(`${line}\n`);

async function measure(scenario: Scenario, server: ServerChild, label: string, opts: Options) {
  const phase = await scenario.prepare(server);
  const settings = (durationSeconds: number): Settings => ({ connections: opts.connections, durationSeconds });
  if (opts.warmupSeconds > 0) await phase(settings(opts.warmupSeconds));
  if (opts.profileDir) await server.call({ op: 'profile-start' });
  const cpuBefore = await server.call<number>({ op: 'cpu' });
  const result = await phase(settings(opts.durationSeconds));
  result.cpuMsPerRequest = ((await server.call<number>({ op: 'cpu' })) - cpuBefore) / 1000 / Math.max(1, result.requests + result.non2xx);
  if (opts.profileDir) {
    const file = path.join(opts.profileDir, `${scenario.name.replace(/\W+/g, '-')}.${label}.cpuprofile`);
    await server.call({ op: 'profile-stop', file });
    log(`  profile: ${file} (and .heapprofile)`);
  }
  log(`  ${label}: ${result.rps.toFixed(1)}/s p50 ${result.p50} ms p99 ${result.p99} ms cpu ${result.cpuMsPerRequest.toFixed(2)} ms/req non-2xx ${result.non2xx} errors ${result.errors}`);
  return result;
}

async function main(): Promise<void> {
  const opts = options();
  const config = loadConfig();
  if (!config.database.url || !config.redis.url) {
    throw new Error('npm run bench measures this server over real Postgres and Redis: set DATABASE_URL and REDIS_URL, e.g.\n  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 npm run bench');
  }
  if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true });
  const servers: ServerChild[] = [];
  try {
    // The measured side ("ours" in the code below) is our server, or the bare library over Redis with --subject bare-redis.
    const subject = opts.subject;
    const ours = subject === 'ours' ? await startServerChild('ours', { bareLogin: opts.bareLogin, bareStore: opts.bareStore }) : await startServerChild('bare', { bareLogin: opts.bareLogin, bareStore: 'redis' });
    servers.push(ours);
    const bare = await startServerChild('bare', { bareLogin: opts.bareLogin, bareStore: opts.bareStore });
    servers.push(bare);
    log(`${subject}: ${ours.name} (pid ${ours.pid}); bare: ${bare.name} (pid ${bare.pid})`);
    const rows: Row[] = [];
    const scenarios = subject === 'ours' ? opts.scenarios : opts.scenarios.filter((scenario) => scenario.bare);
    const skipped = opts.scenarios.filter((scenario) => !scenarios.includes(scenario));
    if (skipped.length) log(`not measured with --subject ${subject} (ours only): ${skipped.map((scenario) => scenario.name).join(', ')}`);
    for (const scenario of scenarios) {
      const rounds: Array<{ ours: LoadResult; bare?: LoadResult }> = [];
      for (let round = 1; round <= opts.rounds; round += 1) {
        const withBare = scenario.bare && !opts.oursOnly;
        log(`${scenario.name}${opts.rounds > 1 ? ` (round ${round} of ${opts.rounds})` : ''}: ${opts.warmupSeconds} s warm-up + ${opts.durationSeconds} s at ${opts.connections} connections`);
        // Even rounds measure the bare server first.
        const bareFirst = withBare && round % 2 === 0;
        const bareResult = bareFirst ? await measure(scenario, bare, 'bare', opts) : undefined;
        const oursResult = await measure(scenario, ours, subject, opts);
        rounds.push({ ours: oursResult, bare: bareResult ?? (withBare ? await measure(scenario, bare, 'bare', opts) : undefined) });
      }
      rows.push(combineRounds(scenario, rounds));
    }
    const [oursMemory, bareMemory] = await Promise.all([ours.call<Memory>({ op: 'memory' }), bare.call<Memory>({ op: 'memory' })]);
    const [oursCollected, bareCollected] = await Promise.all([ours.call<Memory>({ op: 'memory', collect: true }), bare.call<Memory>({ op: 'memory', collect: true })]);
    const rssMet = oursMemory.rssMb < 200;
    const out = [
      `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, Node ${process.versions.node}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      `${opts.connections} connections (virtual users for the flow), ${opts.durationSeconds} s per phase after ${opts.warmupSeconds} s warm-up; bare login: ${opts.bareLogin}`,
      `${subject}: ${ours.name}; bare: ${bare.name}`,
      '',
      table(rows, subject),
      '',
      ...notes(rows, subject),
      `RSS of ${subject === 'ours' ? 'our server' : 'the bare library over Redis'} process after the run: ${oursMemory.rssMb} MB (heap used ${oursMemory.heapUsedMb} of ${oursMemory.heapTotalMb} MB, external ${oursMemory.externalMb} MB; peak RSS ${oursMemory.peakRssMb ?? '?'} MB; after a full GC ${oursCollected.rssMb} MB, heap ${oursCollected.heapUsedMb} MB); target < 200 MB: ${subject !== 'ours' ? 'not ours' : rssMet ? 'yes' : 'NO'}`,
      `RSS of the bare server process after the run: ${bareMemory.rssMb} MB (heap used ${bareMemory.heapUsedMb} of ${bareMemory.heapTotalMb} MB, external ${bareMemory.externalMb} MB; peak RSS ${bareMemory.peakRssMb ?? '?'} MB; after a full GC ${bareCollected.rssMb} MB, heap ${bareCollected.heapUsedMb} MB)`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    // Failed requests make the numbers meaningless; a missed target is reported above, not an error.
    if (rows.some((row) => row.ours.non2xx || row.ours.errors || row.bare?.non2xx || row.bare?.errors)) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message ?? error}\n`);
  process.exit(1);
});
