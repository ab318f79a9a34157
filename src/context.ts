import Provider from 'oidc-provider';
import type { Logger } from 'winston';
import type { Config } from './config.js';
import { accountService, type AccountService } from './accounts/service.js';
import { clientService, type ClientService } from './clients/service.js';
import { clientArtifactStore } from './clients/store.js';
import { clientCache, type ClientCache } from './clients/cache.js';
import { userCache, type UserCache } from './accounts/cache.js';
import { ensureBootstrapAdmin } from './clients/bootstrap-admin.js';
import type { KeyRing } from './crypto/keyring.js';
import { loadKeyRing } from './crypto/load-keyring.js';
import { openDatabase, type Database } from './db/knex.js';
import { migrateLatest } from './db/migrate.js';
import { openRedis, type RedisClient } from './db/redis.js';
import { createLogger } from './logger.js';
import { createAdapterClass } from './oidc/adapter/adapter.js';
import type { ArtifactStore, Clock } from './oidc/adapter/artifact-store.js';
import { postgresArtifactStore } from './oidc/adapter/postgres-store.js';
import { redisArtifactStore } from './oidc/adapter/redis-store.js';
import { writeThroughStore } from './oidc/adapter/write-through-store.js';
import { createProvider } from './oidc/provider.js';
import { ensureSigningKeys, loadSigningJwks } from './oidc/signing-keys.js';
import { createQueries, type Queries } from './queries/index.js';
import { startSweeper } from './oidc/sweeper.js';
import { runSeeds } from '../seeds/index.js';
import { auditLog, type AuditLog } from './audit/writer.js';
import { auditProviderEvents } from './audit/provider-events.js';
import { grantService, type GrantService } from './grants/service.js';
import { revokeGrantsOfDeletedClients } from './grants/provider-hooks.js';
import { clientAdminService, type ClientAdminService } from './clients/admin-service.js';
import { userAdminService, type UserAdminService } from './accounts/admin-service.js';
import { createTokenResolver, type TokenResolver } from './http/bearer-auth.js';
import { createRateLimits, type RateLimits } from './http/rate-limiters.js';
import { installTokenRateLimit } from './oidc/token-rate-limit.js';
import { integrationService, type IntegrationService } from './integrations/service.js';
import { connectionSealer } from './integrations/sealing.js';
import type { IntegrationDeps } from './integrations/deps.js';
import { actorDirectory } from './integrations/actor.js';
import { alexaAcceptGrant, type AlexaAcceptGrant } from './integrations/alexa/accept-grant.js';
import { tokenCache } from './integrations/token-cache.js';
import { googleRiscSettings, replayGuard, riscReceiver, type RiscReceiver } from './integrations/risc/index.js';
import { webhookDispatcher } from './webhooks/dispatcher.js';
import { refreshScheduler } from './integrations/refresh-scheduler.js';
import type { JobQueue } from './jobs/queue.js';
import { memoryQueue } from './jobs/memory-queue.js';
import { jobsSchemaOf, pgBossQueue } from './jobs/pg-boss-queue.js';
import { createMetrics, type Metrics } from './metrics/registry.js';
import { observeProvider } from './metrics/provider.js';
import { observeQueueDepth } from './metrics/queue.js';
import { REFRESH_QUEUE } from './integrations/refresh-scheduler.js';
import { WEBHOOK_DELIVERY_QUEUE } from './webhooks/dispatcher.js';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { upstreamClients } from './integrations/upstream-client.js';
import { outboundPolicy, type OutboundPolicy } from './net/outbound-policy.js';

/** Everything built once at start and passed down; no module-level singletons. */
export interface AppContext {
  config: Config;
  logger: Logger;
  clock: Clock;
  keyring: KeyRing;
  database: Database;
  redis?: RedisClient;
  queries: Queries;
  accounts: AccountService;
  clients: ClientService;
  provider: Provider;
  audit: AuditLog;
  grants: GrantService;
  clientAdmin: ClientAdminService;
  userAdmin: UserAdminService;
  /** Bearer token → principal, through the provider's own token models. */
  resolveToken: TokenResolver;
  /** The consumer side: linked external accounts, token vending, mailboxes. */
  integrations: IntegrationService;
  /** Alexa's AcceptGrant (POST /integrations/amazon-lwa/accept-grant): an LWA code becomes an amazon-lwa link. */
  acceptGrant: AlexaAcceptGrant;
  /** Google Cross-Account Protection receiver (POST /integrations/google/risc). */
  risc: RiscReceiver;
  /** Login, token-endpoint and admin limits (Redis counters when Redis is configured). */
  rateLimits: RateLimits;
  /** The job queue (pg-boss with Postgres, in process on PGlite); /readyz checks it. */
  queue: JobQueue;
  /** This instance's Prometheus registry and instruments (GET /metrics). */
  metrics: Metrics;
  /** Where mail checks and webhook deliveries may connect (ISSUER, OUTBOUND_ALLOW_PRIVATE_NETWORKS). */
  outbound: OutboundPolicy;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
  clock?: Clock;
}

export async function createContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  const metrics = createMetrics();
  const keyring = loadKeyRing({ spec: config.encryptionKeys, dataDir: config.dataDir, logger });
  const database = await openDatabase(config, logger);
  let redis: RedisClient | undefined;
  let stopSweeper = () => {};
  let queue: JobQueue | undefined;
  let cachedClients: ClientCache | undefined;
  let cachedUsers: UserCache | undefined;
  try {
    const applied = await migrateLatest(database.db);
    if (applied.length) logger.info('database migrated', { applied });
    const baseQueries = createQueries(database.db, database.statements);
    // Client rows are read on every token request: kept in process briefly, dropped on every write (src/clients/cache.ts).
    cachedClients = clientCache({ clients: baseQueries.clients, clock, logger });
    // So is the account of every refresh (findAccount): src/accounts/cache.ts.
    cachedUsers = userCache({ users: baseQueries.users, clock, logger });
    const queries: Queries = { ...baseQueries, clients: cachedClients.queries, users: cachedUsers.queries };
    const accounts = accountService(queries.users);
    const clients = clientService(queries.clients, keyring);
    await runSeeds({ queries, accounts, clients, logger, seedDemo: config.seedDemo, issuer: config.issuer });
    await ensureBootstrapAdmin(clients, config.bootstrapAdmin);

    redis = await openRedis(config, logger);
    if (redis) await Promise.all([cachedClients.connect(redis, config.redis.keyPrefix), cachedUsers.connect(redis, config.redis.keyPrefix)]);
    const durable = postgresArtifactStore(queries.oidcModels, clock);
    const fast: ArtifactStore | undefined = redis ? redisArtifactStore(redis, clock) : undefined;
    const adapter = createAdapterClass({
      stores: {
        durable,
        ephemeral: fast ?? durable,
        writeThrough: fast ? writeThroughStore(fast, durable, logger) : durable,
        accessTokenCache: fast,
        clients: clientArtifactStore({ ...queries.clients, find: cachedClients.find }, keyring),
      },
      clock,
      refreshTokenReuseGraceSeconds: config.refreshTokenReuseGraceSeconds,
      logger,
      sealer: keyring,
      // oidc-provider's own request context (its AsyncLocalStorage; a public static in its types).
      currentRoute: () => Provider.ctx?.oidc?.route,
    });

    await ensureSigningKeys(queries.signingKeys, keyring);
    const jwks = await loadSigningJwks(queries.signingKeys, keyring, new Date(clock()));
    // The provider's account lookups by id go through the user cache; sign-in by email reads the table.
    const providerAccounts = accountService({ ...queries.users, findById: cachedUsers.find });
    // The one outbound policy: the provider's fetches, mailbox checks and webhook deliveries all obey it.
    const outbound = outboundPolicy({ issuer: config.issuer, allowPrivateNetworks: config.outbound.allowPrivateNetworks, production: config.nodeEnv === 'production' });
    const provider = createProvider({ config, logger, keyring, queries, accounts: providerAccounts, adapter, jwks, outbound });
    const audit = auditLog(queries.audit, logger);
    const grants = grantService({ provider, grants: queries.grants, audit, clock, logger });
    auditProviderEvents(provider, audit, { onGrantUsed: (grantId) => grants.touch(grantId) });
    observeProvider(provider, metrics);
    revokeGrantsOfDeletedClients(provider, grants);
    const rateLimits = createRateLimits(config.rateLimit, redis, logger);
    installTokenRateLimit(provider, rateLimits);
    queue = config.database.url ? await pgBossQueue({ connectionString: config.database.url, schema: jobsSchemaOf(config.database.schema), logger }) : memoryQueue(logger, clock);
    observeQueueDepth(metrics, queue, [REFRESH_QUEUE, WEBHOOK_DELIVERY_QUEUE], logger);
    const scheduler = refreshScheduler({ queue, leases: queries.connectionLeases, marginSeconds: config.integrations.refreshMarginSeconds, clock, logger });
    const sealer = connectionSealer(keyring);
    const cache = tokenCache(redis, keyring, clock, logger);
    const webhooks = webhookDispatcher({ webhooks: queries.webhooks, keyring, queue, clock, logger, audit, outbound });
    const integrationDeps: IntegrationDeps = {
      settings: { issuer: config.issuer, providers: config.providers, ...config.integrations },
      connections: queries.connections,
      leases: queries.connectionLeases,
      instanceId: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      planNext: config.integrations.scheduledRefresh ? scheduler.planNext : async () => {},
      planDue: config.integrations.scheduledRefresh ? scheduler.planDue : async () => 0,
      oauthStates: queries.oauthStates,
      actors: actorDirectory({ users: queries.users, clients: queries.clients }),
      mailboxes: queries.mailboxes,
      keyring,
      sealer,
      cache,
      upstream: upstreamClients(clock),
      audit,
      events: webhooks,
      refreshOutcome: (provider, outcome) => metrics.integrationRefresh.inc({ provider, outcome }),
      outbound,
      logger,
      clock,
    };
    const integrations = integrationService(integrationDeps);
    const clientAdmin = clientAdminService({ provider, clients: queries.clients, workspaces: queries.workspaces, grants, audit, keyring, linkedAccounts: integrations });
    const userAdmin = userAdminService({ users: queries.users, workspaces: queries.workspaces, grants, audit, linkedAccounts: integrations });
    const resolveToken = createTokenResolver(provider, async (accountId) => (await accounts.find(accountId))?.workspace_id);
    const acceptGrant = alexaAcceptGrant({ ...integrationDeps, resolveToken });
    const riscReplay = replayGuard(redis, clock);
    const risc = riscReceiver({
      ...googleRiscSettings(config),
      connections: queries.connections,
      purgeCache: (id) => cache.purge(id),
      events: webhooks,
      audit,
      clock,
      logger,
      seen: riscReplay.seen,
      forget: riscReplay.forget,
      openRefreshToken: (row) => sealer.open(row, 'refresh_token', row.refresh_token_enc),
    });
    if (config.integrations.scheduledRefresh) await scheduler.start(integrations.runScheduled);
    // The in-process queue loses its jobs with the process: pending deliveries are queued again at start.
    await webhooks.start({ resumePending: !config.database.url });
    stopSweeper = startSweeper({ queries, logger, clock, intervalSeconds: config.sweepIntervalSeconds, auditRetentionDays: config.auditRetentionDays });

    const redisClient = redis;
    const clientRows = cachedClients;
    const userRows = cachedUsers;
    return {
      config,
      logger,
      clock,
      keyring,
      database,
      redis: redisClient,
      queries,
      accounts,
      clients,
      provider,
      audit,
      grants,
      clientAdmin,
      userAdmin,
      resolveToken,
      integrations,
      acceptGrant,
      risc,
      rateLimits,
      queue,
      metrics,
      outbound,
      async close() {
        stopSweeper();
        await queue?.stop();
        await Promise.all([audit.flush(), grants.flushTouched()]);
        await Promise.all([clientRows.close(), userRows.close()]);
        await redisClient?.quit().catch(() => redisClient.disconnect());
        await database.close();
      },
    };
  } catch (error) {
    stopSweeper();
    await queue?.stop().catch(() => {});
    await cachedClients?.close();
    await cachedUsers?.close();
    redis?.disconnect();
    await database.close();
    throw error;
  }
}
