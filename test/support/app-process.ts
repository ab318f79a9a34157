import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startCommandNodeFlags } from '../../bench/start-flags.js';
import { freePort } from './dovecot.js';
import { TEST_ENCRYPTION_KEYS } from './services.js';
import { isRunning, spawnWatched, stopWatched, type WatchedProcess } from './watched-process.js';

/**
 * The real server (`node [flags] dist/src/main.js`, as `npm start` runs it) as a child process, for tests that kill it.
 * It is compiled once per test file into a private folder (type-stripping only: `npm run typecheck` checks the
 * types), never into the shared `dist/`. The child is watched (test/support/watched-process.ts), so a dying jest
 * worker takes it along.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppBuild {
  main: string;
  remove(): void;
}

/** `tsc` into a temp folder, with what the compiled code reads at run time next to it. */
export function buildApp(): AppBuild {
  const out = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-build-'));
  const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', path.join(REPO, 'tsconfig.json'), '--outDir', out, '--noCheck', '--sourceMap', 'false'], { encoding: 'utf8' });
  // tsc emits despite errors; only a missing entry point stops here (the typecheck run reports the rest).
  if (!existsSync(path.join(out, 'src/main.js'))) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`tsc did not build src/main.js:\n${built.stdout}${built.stderr}`);
  }
  writeFileSync(path.join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
  mkdirSync(path.join(out, 'config'), { recursive: true });
  copyFileSync(path.join(REPO, 'config/providers.yaml'), path.join(out, 'config/providers.yaml'));
  const remove = () => rmSync(out, { recursive: true, force: true });
  process.once('exit', remove); // also when a test forgets, or fails before, its cleanup
  return { main: path.join(out, 'src/main.js'), remove };
}

export interface AppProcess {
  url: string;
  /** The environment the server runs with (a CLI command given the same one works on the same stores). */
  env: Record<string, string>;
  admin: { client_id: string; client_secret: string };
  /** Starts the server (again) on the same port, stores and data folder; resolves when /healthz answers. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs. */
  kill(): Promise<void>;
  /** Whether the process is running (it has not crashed). */
  running(): boolean;
  /** Everything the process wrote to stdout and stderr, over every start. */
  output(): string;
  destroy(): Promise<void>;
}

export interface AppProcessOptions {
  /** Unset: the embedded PGlite store in the process's own data folder. */
  databaseUrl?: string;
  redisUrl?: string;
  env?: Record<string, string>;
}

export async function startAppProcess(build: AppBuild, options: AppProcessOptions): Promise<AppProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-data-'));
  const admin = { client_id: 'fault-admin', client_secret: randomBytes(24).toString('base64url') };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    PORT: String(port),
    ISSUER: url,
    DATA_DIR: dataDir,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    BOOTSTRAP_ADMIN_CLIENT_ID: admin.client_id,
    BOOTSTRAP_ADMIN_CLIENT_SECRET: admin.client_secret,
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const log = { text: '' };
  let app: WatchedProcess | undefined;
  const running = () => isRunning(app);

  const start = async () => {
    if (running()) throw new Error('the app is already running');
    app = spawnWatched(process.execPath, [...startCommandNodeFlags(), build.main], { orphanSignal: 'KILL', env, sink: log, keepChars: 200_000 });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (!running()) throw new Error(`the app exited during start:\n${log.text.slice(-4000)}`);
      const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await kill();
    throw new Error(`the app did not answer /healthz in time:\n${log.text.slice(-4000)}`);
  };
  const kill = () => stopWatched(app, 'SIGKILL');

  const destroy = async () => {
    await kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  await start().catch(async (error: unknown) => {
    await destroy();
    throw error;
  });
  return { url, env, admin, start, kill, running, output: () => log.text, destroy };
}
