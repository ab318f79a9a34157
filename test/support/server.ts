import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { Redis } from 'ioredis';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { createContext, type AppContext } from '../../src/context.js';
import { createApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { jobsSchemaOf } from '../../src/jobs/pg-boss-queue.js';
import { services, TEST_ENCRYPTION_KEYS } from './services.js';

export interface TestServer {
  url: string;
  context: AppContext;
  /** Stops the app (the data stays, so `start()` again sees it). */
  stop(): Promise<void>;
  /** Starts the app again on the same port and stores. */
  start(): Promise<void>;
  /** Stops the app and removes its schema, Redis keys and files. */
  destroy(): Promise<void>;
  /** Deletes every Redis key of this server: a flush of everything it owns. */
  flushRedis(): Promise<void>;
}

export interface TestServerOptions {
  config?: ConfigOverrides;
  clock?: () => number;
  logger?: import('winston').Logger;
}

/** A real server on a loopback port with its own schema (or PGlite directory) and Redis key prefix. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const id = randomBytes(5).toString('hex');
  const schema = `t_${id}`;
  const keyPrefix = `test:${id}:`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-test-'));
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig(
    { NODE_ENV: 'test' },
    {
      port,
      issuer: url,
      dataDir,
      logLevel: 'warn',
      encryptionKeys: TEST_ENCRYPTION_KEYS,
      seedDemo: false,
      sweepIntervalSeconds: 0,
      ...options.config,
      // Background refreshes only where a test asks for them (they would race a test's own refresh counts).
      integrations: { scheduledRefresh: false, ...options.config?.integrations },
      database: { url: services.databaseUrl, schema, ...options.config?.database },
      redis: { url: services.redisUrl, keyPrefix, ...options.config?.redis },
    },
  );
  const logger = options.logger ?? createLogger(config.logLevel, { silent: process.env.TEST_LOGS !== '1' });

  let context: AppContext;
  let handler: http.RequestListener | undefined;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req, res) => {
    if (handler) handler(req, res);
    else {
      res.statusCode = 503;
      res.end();
    }
  });

  const start = async () => {
    context = await createContext(config, { logger, clock: options.clock });
    handler = createApp(context).callback();
  };
  const stop = async () => {
    handler = undefined;
    for (const socket of sockets) socket.destroy();
    await context.close();
  };
  const flushRedis = async () => {
    if (!services.redisUrl) return;
    const redis = new Redis(services.redisUrl);
    try {
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  };

  await start();
  return {
    url,
    get context() {
      return context;
    },
    stop,
    start,
    flushRedis,
    async destroy() {
      if (handler) await stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await flushRedis();
      if (services.databaseUrl) {
        const admin = knexFactory({ client: 'pg', connection: services.databaseUrl, pool: { min: 0, max: 1 } });
        await admin
          .raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema])
          .then(() => admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [jobsSchemaOf(schema)]))
          .finally(() => admin.destroy());
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Two servers over one Postgres schema and one Redis key prefix: separate instances of one deployment. */
export interface InstancePair {
  a: TestServer;
  b: TestServer;
  /** Stops both before the shared schema and keys go (either destroy() removes them; the second finds nothing). */
  destroy(): Promise<void>;
}

export async function startInstancePair(config: ConfigOverrides = {}): Promise<InstancePair> {
  const a = await startTestServer({ config });
  const shared = { database: { ...config.database, schema: a.context.config.database.schema }, redis: { ...config.redis, keyPrefix: a.context.config.redis.keyPrefix } };
  const b = await startTestServer({ config: { ...config, ...shared } }).catch(async (error) => {
    await a.destroy();
    throw error;
  });
  return {
    a,
    b,
    async destroy() {
      await a.stop();
      await b.destroy();
      await a.destroy();
    },
  };
}

/** In a describe block: a pair started before its tests and destroyed after them (read `.a` and `.b` in the tests). */
export function useInstancePair(): { readonly a: TestServer; readonly b: TestServer } {
  let pair: InstancePair | undefined;
  beforeAll(async () => {
    pair = await startInstancePair();
  }, 60_000);
  afterAll(async () => {
    await pair?.destroy();
  });
  return {
    get a() {
      return pair!.a;
    },
    get b() {
      return pair!.b;
    },
  };
}

/** Reads until `done` holds or `timeoutMs` has passed (every 50 ms); returns the last value read. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const started = Date.now();
  let value = await read();
  while (!done(value) && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}
