import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { connectionSealer } from '../../src/integrations/sealing.js';
import { Redis } from 'ioredis';
import { deleteKeys, REDIRECT_URI, quietLogger, startBare, startOurs, type Target } from '../targets.js';
import { redisAdapterClass } from '../redis-adapter.js';
import { bareInteractions } from './bare-interactions.js';
import type { Command, Memory, Ready, Reply, TargetKind, VendingFixture } from './protocol.js';

/**
 * One server under test in its own process (so its RSS and CPU profile are its own), driven by bench/run.ts
 * over IPC. argv: `ours` | `bare`, then `scrypt` | `none` (the bare login's password check), then `memory` |
 * `redis` (the bare library's adapter; redis: REDIS_URL, under a key prefix of its own, deleted at the end).
 */
const kind = process.argv[2] as TargetKind;
const bareLogin = process.argv[3] ?? 'scrypt';
const bareStore = process.argv[4] ?? 'memory';

/** A provider that is configured but never called: the vended tokens are fresh, nothing is refreshed. */
export const VENDING_PROVIDER = 'bench-upstream';
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'];

async function start(): Promise<{ target: Target; seedVending?: (count: number) => Promise<VendingFixture>; cleanup: () => void | Promise<void> }> {
  if (kind === 'bare') {
    const user = { id: 'bench-user', email: 'bench-user@example.com', password: 'bench-password' };
    // The same ioredis settings as ours (src/db/redis.ts): auto-pipelining on.
    const prefix = `bench-bare-${randomUUID()}:`;
    const redis = bareStore === 'redis' ? new Redis(process.env.REDIS_URL!, { keyPrefix: prefix, enableAutoPipelining: true }) : undefined;
    const target = await startBare({
      adapter: redis ? { name: 'redis', adapter: redisAdapterClass(redis) } : undefined,
      client: { grant_types: GRANT_TYPES },
      configuration: {
        features: { clientCredentials: { enabled: true }, introspection: { enabled: true }, devInteractions: { enabled: false } },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      },
      handler: await bareInteractions(user, bareLogin === 'scrypt'),
    });
    const cleanup = async () => {
      if (!redis) return;
      redis.disconnect();
      await deleteKeys(process.env.REDIS_URL!, prefix);
    };
    return { target, cleanup };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-providers-'));
  const providersFile = path.join(dir, 'providers.yaml');
  writeFileSync(
    providersFile,
    `${VENDING_PROVIDER}:\n  authorization_url: http://127.0.0.1:9/auth\n  token_url: http://127.0.0.1:9/token\n  client_id: bench\n  client_secret: bench-secret\n`,
  );
  const target = await startOurs(quietLogger(), {
    // The token limiter stays on (its cost is part of ours), with a budget no run reaches.
    config: { providersFile, rateLimit: { token: { perClient: 1_000_000_000 } }, integrations: { scheduledRefresh: false } },
    client: {
      client_name: 'bench',
      redirect_uris: [REDIRECT_URI],
      grant_types: GRANT_TYPES,
      response_types: ['code'],
      scope: 'openid profile email offline_access integrations:token',
    },
  });
  const { context } = target;
  const sealer = connectionSealer(context.keyring);
  async function seedVending(count: number): Promise<VendingFixture> {
    const purposes = Array.from({ length: count }, (_, i) => `p${i}`);
    const now = new Date();
    for (const purpose of purposes) {
      const key = { workspace_id: 'default', actor_type: 'api_key' as const, actor_id: target.client.client_id, provider: VENDING_PROVIDER, purpose };
      await context.queries.connections.upsertConnected({
        ...key,
        id: randomUUID(),
        provider_subject: null,
        provider_email: null,
        scopes: [],
        access_token_enc: sealer.seal(key, 'access_token', `upstream-at-${purpose}-${randomUUID()}`),
        refresh_token_enc: sealer.seal(key, 'refresh_token', `upstream-rt-${purpose}`),
        token_type: 'Bearer',
        expires_at: new Date(now.getTime() + 24 * 3600_000),
        now,
      });
    }
    const basic = Buffer.from(`${target.client.client_id}:${target.client.client_secret}`).toString('base64');
    const response = await fetch(`${target.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=integrations%3Atoken',
    });
    const body = (await response.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`client_credentials for vending failed: ${JSON.stringify(body)}`);
    return { token: body.access_token, provider: VENDING_PROVIDER, purposes };
  }
  return { target, seedVending, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function memory(): Memory {
  const usage = process.memoryUsage();
  let peakRssMb: number | undefined;
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (hwm) peakRssMb = Math.round(Number(hwm) / 1024);
  } catch {
    // not Linux: no peak
  }
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  return { rssMb: mb(usage.rss), peakRssMb, heapUsedMb: mb(usage.heapUsed), heapTotalMb: mb(usage.heapTotal), externalMb: mb(usage.external) };
}

const send = (message: Ready | Reply) => process.send!(message);

async function main(): Promise<void> {
  const { target, seedVending, cleanup } = await start();
  const profiler = new Session();
  profiler.connect();
  const handlers: { [K in Command['op']]: (command: Extract<Command, { op: K }>) => Promise<unknown> } = {
    mint: async ({ count }) => target.mintRefreshTokens(count),
    'seed-vending': async ({ count }) => {
      if (!seedVending) throw new Error('the bare library has no integrations');
      return seedVending(count);
    },
    'profile-start': async () => {
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
      await profiler.post('Profiler.start');
      // Where the garbage comes from, next to where the time goes (a sample per 64 KiB allocated).
      await profiler.post('HeapProfiler.enable');
      await profiler.post('HeapProfiler.startSampling', { samplingInterval: 65_536, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    },
    'profile-stop': async ({ file }) => {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      const { profile: heap } = await profiler.post('HeapProfiler.stopSampling');
      writeFileSync(file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap));
    },
    memory: async ({ collect }) => {
      // --expose-gc (set by children.ts): what stays after a full collection, next to what the run left.
      if (collect) {
        (globalThis as { gc?: () => void }).gc?.();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      return memory();
    },
    cpu: async () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    stop: async () => {
      profiler.disconnect();
      await target.stop();
      await cleanup();
    },
  };
  process.on('message', (command: Command) => {
    const handler = handlers[command.op] as (c: Command) => Promise<unknown>;
    handler(command).then(
      (result) => {
        send({ type: 'reply', id: command.id, ok: true, result });
        if (command.op === 'stop') process.disconnect();
      },
      (error: unknown) => send({ type: 'reply', id: command.id, ok: false, error: (error as Error).stack ?? String(error) }),
    );
  });
  send({ type: 'ready', name: target.name, url: target.url, client: target.client, user: { email: target.user.email, password: target.user.password } });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
