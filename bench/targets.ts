import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider, { type Configuration } from 'oidc-provider';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { Logger } from 'winston';
import { loadConfig, type ConfigOverrides } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { jobsSchemaOf } from '../src/jobs/pg-boss-queue.js';
import { UnboundedMemoryAdapter } from './memory-adapter.js';

export const REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2BENCH0001';

/** A server under test: its URL, a confidential client, and a way to mint refresh tokens in-process. */
export interface Target {
  name: string;
  url: string;
  client: { client_id: string; client_secret: string };
  /** The account tokens are minted for (and, for ours, a user that can sign in with `password`). */
  user: { id: string; email: string; password: string };
  mintRefreshTokens(count: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/**
 * Refresh tokens minted through the provider's own models, as a code exchange would leave them: one grant
 * per token (each a separate linked device), so no request rotates another's token.
 */
async function mint(provider: Provider, clientId: string, accountId: string, count: number): Promise<string[]> {
  const client = await provider.Client.find(clientId);
  const values: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId, client, grantId, scope: 'openid', gty: 'authorization_code', authTime: Math.floor(Date.now() / 1000) } as never);
    values.push(await token.save());
  }
  return values;
}

export interface OursOptions {
  /** Over the bench defaults (fresh schema and key prefix, quiet log, no seeds, no sweeper). */
  config?: ConfigOverrides;
  /** Metadata of the confidential client to register instead of the default Alexa-profile client. */
  client?: Record<string, unknown>;
}

/** After the context is closed (its last batched writes went to the schema), over a connection of its own. */
async function dropSchemas(url: string, schemas: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Every key under the run's prefix (a single Redis node; SCAN patterns do not get ioredis' keyPrefix). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) if ((keys as string[]).length) await redis.unlink(...(keys as string[]));
  } finally {
    redis.disconnect();
  }
}

/** This project: real Postgres and Redis when DATABASE_URL / REDIS_URL are set, a fresh schema and key prefix. */
export async function startOurs(logger: Logger, options: OursOptions = {}): Promise<Target & { context: AppContext }> {
  const id = randomBytes(4).toString('hex');
  const base = loadConfig();
  const holder: { url?: string } = {};
  const { server, url } = await listen((req, res) => handler!(req, res));
  holder.url = url;
  const config = loadConfig(undefined, {
    issuer: url,
    logLevel: 'warn',
    seedDemo: false,
    sweepIntervalSeconds: 0,
    database: { schema: `bench_${id}` },
    redis: { keyPrefix: `bench:${id}:` },
    dataDir: base.database.url ? base.dataDir : `${base.dataDir}/bench-${id}`,
    ...options.config,
  });
  const removeData = async () => {
    if (config.database.url) await dropSchemas(config.database.url, [config.database.schema, jobsSchemaOf(config.database.schema)]);
    if (config.redis.url && !config.redis.url.includes(',') && config.redis.keyPrefix.startsWith('bench:')) await deleteKeys(config.redis.url, config.redis.keyPrefix);
  };
  const context = await createContext(config, { logger }).catch(async (error: unknown) => {
    server.close();
    await removeData();
    throw error;
  });
  let handler: http.RequestListener | undefined = createApp(context).callback();
  const client = (
    options.client
      ? await context.clients.register({ token_endpoint_auth_method: 'client_secret_basic', ...options.client })
      : await context.clientAdmin.create({ profile: 'alexa', alexa_vendor_id: 'M2BENCH0001' }, { actor: 'system' })
  ) as { client_id: string; client_secret: string };
  const password = randomBytes(16).toString('hex');
  const email = `bench-${id}@example.com`;
  const user = await context.accounts.create({ email, password, workspaceId: 'default' });
  return {
    name: `oauth-hub (${context.database.kind}${context.redis ? ' + redis' : ''})`,
    url,
    client,
    user: { id: user.id, email, password },
    context,
    mintRefreshTokens: (count) => mint(context.provider, client.client_id, user.id, count),
    async stop() {
      handler = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await context.close();
      await removeData();
    },
  };
}

export interface BareOptions {
  /** Over the bare defaults (memory adapter, rotating refresh tokens, a refresh token with every code). */
  configuration?: Configuration;
  /** Client metadata over the default (confidential, code + refresh_token, REDIRECT_URI). */
  client?: Record<string, unknown>;
  /** Wraps the provider's handler (e.g. to add interaction pages); gets the provider once it exists. */
  handler?: (provider: Provider, next: http.RequestListener) => http.RequestListener;
  /** Another adapter than the in-memory one, and the store's name for the report. */
  adapter?: { name: string; adapter: Configuration['adapter'] };
}

/** The bare library: oidc-provider with an in-memory adapter (no store cost at all) and the same client and token rules. */
export async function startBare(options: BareOptions = {}): Promise<Target & { provider: Provider }> {
  const client = { client_id: 'bench-client', client_secret: randomBytes(32).toString('base64url') };
  let handler: http.RequestListener | undefined;
  const { server, url } = await listen((req, res) => handler!(req, res));
  const provider = new Provider(url, {
    adapter: options.adapter?.adapter ?? UnboundedMemoryAdapter,
    clients: [{ ...client, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI], response_types: ['code'], ...options.client }],
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    rotateRefreshToken: true,
    issueRefreshToken: async () => true,
    ...options.configuration,
  });
  const callback = provider.callback();
  handler = options.handler ? options.handler(provider, callback) : callback;
  return {
    name: `bare oidc-provider (${options.adapter?.name ?? 'memory'} adapter)`,
    url,
    client,
    provider,
    user: { id: 'bench-user', email: 'bench-user@example.com', password: 'bench-password' },
    mintRefreshTokens: (count) => mint(provider, client.client_id, 'bench-user', count),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const quietLogger = () => createLogger('warn');
