import { z } from 'zod';
import { defaults } from '../config/default.js';
import { loadProviderRegistry, ProviderRegistryError, type ProviderRegistry } from './integrations/registry/index.js';
import { parseCidr } from './net/special-use-address.js';

/** Environment variable → path in the config object. The only place that reads the environment. */
const ENV_MAP: Record<string, string> = {
  NODE_ENV: 'nodeEnv',
  PORT: 'port',
  TRUST_PROXY: 'trustProxy',
  ISSUER: 'issuer',
  DATA_DIR: 'dataDir',
  DATABASE_URL: 'database.url',
  DATABASE_SCHEMA: 'database.schema',
  DATABASE_POOL_MAX: 'database.poolMax',
  REDIS_URL: 'redis.url',
  REDIS_KEY_PREFIX: 'redis.keyPrefix',
  ENCRYPTION_KEYS: 'encryptionKeys',
  BOOTSTRAP_ADMIN_CLIENT_ID: 'bootstrapAdmin.clientId',
  BOOTSTRAP_ADMIN_CLIENT_SECRET: 'bootstrapAdmin.clientSecret',
  PROVIDERS_FILE: 'providersFile',
  LOG_LEVEL: 'logLevel',
  ACCESS_TOKEN_TTL: 'ttl.accessToken',
  CLIENT_CREDENTIALS_TTL: 'ttl.clientCredentials',
  AUTHORIZATION_CODE_TTL: 'ttl.authorizationCode',
  ID_TOKEN_TTL: 'ttl.idToken',
  REFRESH_TOKEN_TTL: 'ttl.refreshToken',
  VOICE_REFRESH_TOKEN_TTL: 'ttl.voiceRefreshToken',
  GRANT_TTL: 'ttl.grant',
  SESSION_TTL: 'ttl.session',
  INTERACTION_TTL: 'ttl.interaction',
  REFRESH_TOKEN_REUSE_GRACE_SECONDS: 'refreshTokenReuseGraceSeconds',
  SIGNING_KEY_OVERLAP_SECONDS: 'signingKeyOverlapSeconds',
  SWEEP_INTERVAL_SECONDS: 'sweepIntervalSeconds',
  AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  SEED_DEMO: 'seedDemo',
  GOOGLE_LINKING_CLIENT_ID: 'googleLinking.clientId',
  GOOGLE_LINKING_ISSUER: 'googleLinking.issuer',
  GOOGLE_LINKING_JWKS_URI: 'googleLinking.jwksUri',
  GOOGLE_RISC_ISSUER: 'googleRisc.issuer',
  GOOGLE_RISC_JWKS_URI: 'googleRisc.jwksUri',
  INTEGRATIONS_STATE_TTL_SECONDS: 'integrations.stateTtlSeconds',
  INTEGRATIONS_REFRESH_MARGIN_SECONDS: 'integrations.refreshMarginSeconds',
  INTEGRATIONS_SCHEDULED_REFRESH: 'integrations.scheduledRefresh',
  METRICS_TOKEN: 'metrics.token',
  RATE_LIMIT_ENABLED: 'rateLimit.enabled',
  RATE_LIMIT_LOGIN_MAX_FAILURES: 'rateLimit.login.maxFailures',
  RATE_LIMIT_LOGIN_LOCKOUT_SECONDS: 'rateLimit.login.lockoutSeconds',
  RATE_LIMIT_LOGIN_IP_MAX_FAILURES: 'rateLimit.login.ipMaxFailures',
  RATE_LIMIT_LOGIN_IP_WINDOW_SECONDS: 'rateLimit.login.ipWindowSeconds',
  RATE_LIMIT_TOKEN_PER_CLIENT: 'rateLimit.token.perClient',
  RATE_LIMIT_TOKEN_WINDOW_SECONDS: 'rateLimit.token.windowSeconds',
  RATE_LIMIT_TOKEN_IP_MAX_FAILURES: 'rateLimit.token.ipMaxFailures',
  RATE_LIMIT_TOKEN_IP_WINDOW_SECONDS: 'rateLimit.token.ipWindowSeconds',
  RATE_LIMIT_ADMIN_PER_CLIENT: 'rateLimit.admin.perClient',
  RATE_LIMIT_ADMIN_WINDOW_SECONDS: 'rateLimit.admin.windowSeconds',
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'outbound.allowPrivateNetworks',
};

const seconds = z.coerce.number().int().nonnegative();
const positiveSeconds = z.coerce.number().int().positive();
const count = z.coerce.number().int().min(0).max(1_000_000_000);
/** rate-limiter-flexible's memory store caps durations at ~24 days (setTimeout). */
const limitWindow = z.coerce.number().int().min(1).max(20 * 24 * 60 * 60);
const optionalString = z.string().min(1).optional();
const bool = z.preprocess((v) => (typeof v === 'string' ? !['false', '0', 'no', ''].includes(v.toLowerCase()) : v), z.boolean());
const httpUrl = z.url({ protocol: /^https?$/ });
/** `10.0.0.0/8,fd00::/8` (a bare address is one host) → a list; each entry must be a CIDR range. */
const cidrList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z
    .array(z.string())
    .max(100)
    .superRefine((ranges, ctx) => {
      for (const range of ranges) {
        if (!parseCidr(range)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(range)} is not a CIDR range (a comma list such as 10.0.0.0/8,fd00::/8)` });
      }
    }),
);

const schema = z.object({
  nodeEnv: z.enum(['development', 'production', 'test']),
  port: z.coerce.number().int().min(0).max(65535),
  trustProxy: bool,
  issuer: httpUrl.optional(),
  dataDir: z.string().min(1),
  database: z.object({
    url: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase SQL identifier'),
    poolMax: z.coerce.number().int().min(1).max(200),
  }),
  redis: z.object({
    url: z
      .string()
      .refine((v) => v.split(',').every((u) => /^rediss?:\/\/[^\s]+$/.test(u.trim())), 'redis:// URL or a comma list of them')
      .optional(),
    keyPrefix: z.string(),
  }),
  encryptionKeys: optionalString,
  bootstrapAdmin: z.object({ clientId: optionalString, clientSecret: optionalString }),
  providersFile: optionalString,
  logLevel: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']),
  ttl: z.object({
    accessToken: positiveSeconds,
    clientCredentials: positiveSeconds,
    authorizationCode: positiveSeconds,
    idToken: positiveSeconds,
    refreshToken: positiveSeconds,
    voiceRefreshToken: positiveSeconds,
    grant: positiveSeconds,
    session: positiveSeconds,
    interaction: positiveSeconds,
    pushedAuthorizationRequest: positiveSeconds,
  }),
  refreshTokenReuseGraceSeconds: seconds,
  signingKeyOverlapSeconds: seconds,
  sweepIntervalSeconds: seconds,
  auditRetentionDays: z.coerce.number().int().min(0).max(36_500),
  seedDemo: bool,
  googleLinking: z.object({ clientId: optionalString, issuer: z.string().min(1), jwksUri: httpUrl }),
  googleRisc: z.object({ issuer: z.string().min(1), jwksUri: httpUrl }),
  integrations: z.object({
    stateTtlSeconds: z.coerce.number().int().min(60).max(3600),
    refreshMarginSeconds: z.coerce.number().int().min(0).max(3600),
    scheduledRefresh: bool,
  }),
  /** GET /metrics: open when `token` is unset, else it needs `Authorization: Bearer <token>` (src/metrics/routes.ts). */
  metrics: z.object({ token: z.string().min(16, 'at least 16 characters').regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional() }),
  /** 0 turns one limit off; `enabled: false` turns them all off (src/http/rate-limiters.ts). */
  rateLimit: z.object({
    enabled: bool,
    login: z.object({ maxFailures: count, lockoutSeconds: limitWindow, ipMaxFailures: count, ipWindowSeconds: limitWindow }),
    token: z.object({ perClient: count, windowSeconds: limitWindow, ipMaxFailures: count, ipWindowSeconds: limitWindow }),
    admin: z.object({ perClient: count, windowSeconds: limitWindow }),
  }),
  /**
   * Connections a caller can aim (mailbox checks, webhook deliveries, oidc-provider's fetches of a client's
   * jwks_uri, sector_identifier_uri and back-channel logout) never go to special-use addresses (loopback, private,
   * link-local, …: src/net/outbound-policy.ts), except loopback when the issuer is on a loopback host and NODE_ENV is
   * not production, and these ranges. Default: none.
   */
  outbound: z.object({ allowPrivateNetworks: cidrList.default([]) }).default({ allowPrivateNetworks: [] }),
});

type Parsed = z.infer<typeof schema>;
export type Config = Readonly<Parsed & { issuer: string; providers: ProviderRegistry }>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ConfigOverrides = DeepPartial<Parsed>;

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] = { ...(node[part] as object) };
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds the one config object: defaults ← environment ← overrides (tests), validated with zod.
 * A bad value throws a ConfigError naming the environment variable (or config path) at fault.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const fromEnv: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(ENV_MAP)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(fromEnv, path, raw);
  }
  const merged = merge(merge(structuredClone(defaults) as Record<string, unknown>, fromEnv), overrides as Record<string, unknown>);
  const result = schema.safeParse(merged);
  if (!result.success) {
    const byPath = Object.fromEntries(Object.entries(ENV_MAP).map(([name, path]) => [path, name]));
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join('.');
      return `${byPath[path] ?? path}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const parsed = result.data;
  if (parsed.nodeEnv === 'production' && !parsed.encryptionKeys) {
    throw new ConfigError('Invalid configuration: ENCRYPTION_KEYS: required when NODE_ENV=production');
  }
  const issuer = (parsed.issuer ?? `http://localhost:${parsed.port}`).replace(/\/+$/, '');
  // The consumer's providers: config/providers.yaml + PROVIDERS_FILE, `${ENV}` expanded from this same env.
  let providers: ProviderRegistry;
  try {
    providers = loadProviderRegistry({ env, overrideFile: parsed.providersFile });
  } catch (error) {
    if (error instanceof ProviderRegistryError) throw new ConfigError(`Invalid configuration: ${error.setting}: ${error.detail}`);
    throw error;
  }
  return deepFreeze({ ...parsed, issuer, providers, seedDemo: parsed.seedDemo && parsed.nodeEnv !== 'production' });
}
