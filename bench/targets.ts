import http from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import type { Logger } from 'winston';
import { loadConfig } from '../src/config.js';
import { createContext, type AppContext } from '../src/context.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { UnboundedMemoryAdapter } from './memory-adapter.js';

export const REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2BENCH0001';

/** A server under test: its URL, a confidential client, and a way to mint refresh tokens in-process. */
export interface Target {
  name: string;
  url: string;
  client: { client_id: string; client_secret: string };
  mintRefreshTokens(count: number): Promise<string[]>;
  stop(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
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

/** This project: real Postgres and Redis when DATABASE_URL / REDIS_URL are set, a fresh schema and key prefix. */
export async function startOurs(logger: Logger): Promise<Target & { context: AppContext }> {
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
  });
  const context = await createContext(config, { logger });
  let handler: http.RequestListener | undefined = createApp(context).callback();
  const client = (await context.clientAdmin.create({ profile: 'alexa', alexa_vendor_id: 'M2BENCH0001' }, { actor: 'system' })) as { client_id: string; client_secret: string };
  const user = await context.accounts.create({ email: `bench-${id}@example.com`, password: randomBytes(16).toString('hex'), workspaceId: 'default' });
  return {
    name: `oauth-hub (${context.database.kind}${context.redis ? ' + redis' : ''})`,
    url,
    client,
    context,
    mintRefreshTokens: (count) => mint(context.provider, client.client_id, user.id, count),
    async stop() {
      handler = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (context.database.kind === 'postgres') await context.database.db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [config.database.schema]);
      await context.close();
    },
  };
}

/** The bare library: oidc-provider with an in-memory adapter (no store cost at all) and the same client and token rules. */
export async function startBare(): Promise<Target> {
  const client = { client_id: 'bench-client', client_secret: randomBytes(32).toString('base64url') };
  const { server, url } = await listen((req, res) => provider.callback()(req, res));
  const provider = new Provider(url, {
    adapter: UnboundedMemoryAdapter,
    clients: [{ ...client, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI], response_types: ['code'] }],
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    rotateRefreshToken: true,
    issueRefreshToken: async () => true,
  });
  return {
    name: 'bare oidc-provider (memory adapter)',
    url,
    client,
    mintRefreshTokens: (count) => mint(provider, client.client_id, 'bench-user', count),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const quietLogger = () => createLogger('warn');
