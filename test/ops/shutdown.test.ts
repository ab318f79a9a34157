import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { Redis } from 'ioredis';
import { buildApp, type AppBuild } from '../support/app-process.js';
import { freePort } from '../support/dovecot.js';
import { describeWith, services, TEST_ENCRYPTION_KEYS } from '../support/services.js';
import { jobsSchemaOf } from '../../src/jobs/pg-boss-queue.js';

/**
 * Graceful shutdown of the real server process (`node dist/src/main.js`, compiled into a private folder): on SIGTERM
 * it refuses new connections, closes idle keep-alive connections, lets a token request whose body is still arriving
 * finish with 200, stops the job queue and the stores, and exits 0 well before its 10 s forced-close bound.
 * Once on the embedded default (PGlite in a fresh DATA_DIR, in-process queue), once over Postgres + Redis (pg-boss).
 */

let build: AppBuild;
beforeAll(() => {
  build = buildApp();
}, 120_000);
afterAll(() => build?.remove());

interface Running {
  url: string;
  port: number;
  admin: { id: string; secret: string };
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, ms: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startServer(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin = { id: 'shutdown-admin', secret: randomBytes(24).toString('base64url') };
  const child = spawn(process.execPath, [build.main], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      PORT: String(port),
      ISSUER: url,
      ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      BOOTSTRAP_ADMIN_CLIENT_ID: admin.id,
      BOOTSTRAP_ADMIN_CLIENT_SECRET: admin.secret,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const waitFor = async (pattern: RegExp, ms: number) => {
    const deadline = Date.now() + ms;
    while (!pattern.test(log)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited while waiting for ${pattern}:\n${log.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} in the server output within ${ms} ms:\n${log.slice(-4000)}`);
      await sleep(50);
    }
  };
  const running: Running = { url, port, admin, child, output: () => log, waitFor, exited };
  try {
    await waitFor(/oauth-hub is listening on port/, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return running;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection with `message` after `ms` (the timer does not outlive the race). */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function get(url: string, agent: http.Agent): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const socket = res.socket;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, socket }));
      })
      .on('error', reject);
  });
}

/** http_requests_in_flight from a fresh connection's scrape (the scrape counts itself). */
async function inFlight(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`, { headers: { connection: 'close' } }).then((r) => r.text());
  return Number(/^http_requests_in_flight (\d+)/m.exec(text)?.[1] ?? 0);
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function shutsDownGracefully(server: Running): Promise<void> {
  // An idle keep-alive connection, as a load balancer keeps them.
  const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const idle = await get(`${server.url}/healthz`, idleAgent);
  expect(idle.status).toBe(200);
  const idleClosed = new Promise<void>((resolve) => idle.socket.once('close', () => resolve()));

  // A client_credentials request whose body is still on its way when SIGTERM arrives, on a keep-alive connection.
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }).toString();
  const slowAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const slow = http.request(`${server.url}/token`, {
    method: 'POST',
    agent: slowAgent,
    headers: {
      authorization: `Basic ${Buffer.from(`${server.admin.id}:${server.admin.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      accept: 'application/json',
    },
  });
  const answered = new Promise<{ status: number; connection?: string; body: Record<string, unknown> }>((resolve, reject) => {
    slow.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
    });
    slow.on('error', reject);
  });
  slow.write(body.slice(0, 10));
  // The server is handling it (its Koa middleware runs, waiting for the rest of the body).
  const deadline = Date.now() + 10_000;
  while ((await inFlight(server.url)) < 2) {
    if (Date.now() > deadline) throw new Error('the slow request never reached the server');
    await sleep(50);
  }

  const signalledAt = Date.now();
  server.child.kill('SIGTERM');
  await server.waitFor(/"message":"shutting down"/, 5000);

  // New connections are refused; the idle keep-alive connection is closed by the server.
  expect(await connectOutcome(server.port)).toBe('ECONNREFUSED');
  await within(idleClosed, 3000, () => 'the idle keep-alive connection stayed open');
  expect(server.child.exitCode).toBeNull(); // still waiting for the request in flight

  await sleep(300);
  slow.end(body.slice(10));
  const response = await answered;
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
  // Its connection is not kept alive: the server does not wait for keepAliveTimeout.
  expect(response.connection).toBe('close');

  const exit = await within(server.exited, 9000, () => `the server did not exit within 9 s of the response:\n${server.output().slice(-4000)}`);
  expect(exit).toMatchObject({ code: 0, signal: null });
  // Well under the 10 s forced close: nothing was cut.
  expect(exit.at - signalledAt).toBeLessThan(9500);
  expect(server.output()).toMatch(/"message":"stopped"/);
  expect(server.output()).not.toMatch(/"level":"error"/);
  idleAgent.destroy();
  slowAgent.destroy();
}

describe('graceful shutdown on the embedded default (PGlite, in-process queue)', () => {
  let dataDir: string;
  let server: Running | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-shutdown-'));
  });
  afterAll(() => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('SIGTERM: new connections refused, idle keep-alive closed, the request in flight answered 200, exit 0', async () => {
    server = await startServer({ DATA_DIR: dataDir });
    await shutsDownGracefully(server);
  }, 90_000);
});

describeWith('postgres', 'graceful shutdown over Postgres and Redis (pg-boss)', () => {
  const id = randomBytes(5).toString('hex');
  const schema = `t_${id}`;
  const keyPrefix = `test:${id}:`;
  let dataDir: string;
  let server: Running | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-shutdown-'));
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    const admin = knexFactory({ client: 'pg', connection: services.databaseUrl, pool: { min: 0, max: 1 } });
    await admin
      .raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema])
      .then(() => admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [jobsSchemaOf(schema)]))
      .finally(() => admin.destroy());
    if (services.redisUrl) {
      const redis = new Redis(services.redisUrl);
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  test('SIGTERM: the same, and pg-boss stops gracefully', async () => {
    server = await startServer({
      DATA_DIR: dataDir,
      DATABASE_URL: services.databaseUrl!,
      DATABASE_SCHEMA: schema,
      ...(services.redisUrl ? { REDIS_URL: services.redisUrl, REDIS_KEY_PREFIX: keyPrefix } : {}),
    });
    expect(((await fetch(`${server.url}/readyz`).then((r) => r.json())) as { checks: unknown }).checks).toMatchObject({ postgres: 'ok', queue: 'ok' });
    await shutsDownGracefully(server);
  }, 90_000);
});
