import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from 'winston';
import type { Config } from '../config.js';
import type { RedisClient } from '../db/redis.js';

/** Why a request must wait: seconds until it may try again, and the limit it ran into. */
export interface Block {
  retryAfterSeconds: number;
  limit: number;
}

/**
 * One named counter. `hit` counts an event and answers a Block when that event went past the limit; `peek` only
 * reads (cheap under a flood: the library's login-protection advice) and answers a Block once a hit went past.
 * A failing store never fails the request: the Redis limiters fall back to an in-memory one (`insuranceLimiter`),
 * and an error beyond that lets the request through with a warning.
 * https://github.com/animir/node-rate-limiter-flexible/wiki/Overall-example#login-endpoint-protection
 */
export interface Counter {
  hit(key: string): Promise<Block | undefined>;
  peek(key: string): Promise<Block | undefined>;
  /**
   * The block a hit in *this process* last ran into, while it lasts: no round trip. For the hot token endpoints,
   * where a Redis read per request cost about a tenth of the CPU (docs/performance.md). Each instance learns a
   * block from its own next hit, so N instances may serve up to N − 1 requests past a limit per window.
   */
  knownBlock(key: string): Block | undefined;
  /** Whether this process knows of any block still running (so a caller can skip finding the key otherwise). */
  anyKnownBlock(): boolean;
  reset(key: string): Promise<void>;
}

/** Every limit of the server; an absent counter is a limit turned off. */
export interface RateLimits {
  /** Failed logins in a row per (login name, IP); the Nth locks the pair for `lockoutSeconds`. */
  loginPerAccount?: Counter;
  /** Failed logins per IP per window. */
  loginPerIp?: Counter;
  /** Token, introspection and revocation requests per authenticated client per window. */
  tokenPerClient?: Counter;
  /** Failed client authentications at those endpoints per IP per window. */
  tokenFailuresPerIp?: Counter;
  /** /admin requests per admin client per window. */
  adminPerClient?: Counter;
}

/** How long failed logins in a row are remembered without a success in between. */
const CONSECUTIVE_FAILURES_WINDOW = 24 * 60 * 60;

interface CounterSpec {
  name: string;
  /** What the operator configured (reported as `RateLimit-Limit`). */
  limit: number;
  /** rate-limiter-flexible's points: a hit that takes the count past them is refused. */
  points: number;
  duration: number;
  blockDuration?: number;
}

function counter(spec: CounterSpec, redis: RedisClient | undefined, logger: Logger): Counter {
  // The app's ioredis client adds REDIS_KEY_PREFIX; every key is one slot (single-key script), so Cluster is fine.
  const options = { keyPrefix: `rl:${spec.name}`, points: spec.points, duration: spec.duration, blockDuration: spec.blockDuration ?? 0 };
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) })
    : new RateLimiterMemory(options);
  const blockOf = (res: RateLimiterRes): Block => ({ retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)), limit: spec.limit });
  const blocks = new KnownBlocks();
  const allow = (operation: string, error: unknown) => {
    logger.warn('rate limit store failed, request allowed', { limiter: spec.name, operation, error: (error as Error)?.message });
    return undefined;
  };
  return {
    async hit(key) {
      try {
        await limiter.consume(key);
        return undefined;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) return allow('hit', rejection);
        const block = blockOf(rejection);
        blocks.remember(key, block, rejection.msBeforeNext);
        return block;
      }
    },
    knownBlock: (key) => blocks.get(key),
    anyKnownBlock: () => blocks.any(),
    async peek(key) {
      try {
        const res = await limiter.get(key);
        return res && res.consumedPoints > spec.points ? blockOf(res) : undefined;
      } catch (error) {
        return allow('peek', error);
      }
    },
    async reset(key) {
      blocks.forget(key);
      try {
        await limiter.delete(key);
      } catch (error) {
        allow('reset', error);
      }
    },
  };
}

/** Blocks seen by this process, until they end; bounded (oldest dropped first) so a flood of keys cannot grow it. */
class KnownBlocks {
  static readonly MAX_KEYS = 10_000;
  readonly #until = new Map<string, { block: Block; endsAt: number }>();

  remember(key: string, block: Block, msBeforeNext: number): void {
    this.#until.delete(key);
    this.#until.set(key, { block, endsAt: Date.now() + msBeforeNext });
    if (this.#until.size > KnownBlocks.MAX_KEYS) this.#until.delete(this.#until.keys().next().value!);
  }

  get(key: string): Block | undefined {
    const known = this.#until.get(key);
    if (!known) return undefined;
    const left = known.endsAt - Date.now();
    if (left <= 0) {
      this.#until.delete(key);
      return undefined;
    }
    return { ...known.block, retryAfterSeconds: Math.max(1, Math.ceil(left / 1000)) };
  }

  forget(key: string): void {
    this.#until.delete(key);
  }

  /** Ended blocks are dropped from the oldest on, so the answer is exact. */
  any(): boolean {
    const now = Date.now();
    for (const [key, { endsAt }] of this.#until) {
      if (endsAt > now) return true;
      this.#until.delete(key);
    }
    return false;
  }
}

/**
 * The limiters from config: counters in Redis when it is configured (shared by every instance), else in process
 * memory (the embedded single instance). A limit of 0 is off; `enabled: false` turns every limit off.
 */
export function createRateLimits(settings: Config['rateLimit'], redis: RedisClient | undefined, logger: Logger): RateLimits {
  if (!settings.enabled) return {};
  const make = (spec: CounterSpec) => (spec.limit > 0 ? counter(spec, redis, logger) : undefined);
  const { login, token, admin } = settings;
  return {
    // Counted after the outcome (points = limit - 1): the limit-th event goes past the points, so from then on
    // `peek` blocks (a lockout starts where there is a blockDuration).
    loginPerAccount: make({ name: 'login-account', limit: login.maxFailures, points: login.maxFailures - 1, duration: CONSECUTIVE_FAILURES_WINDOW, blockDuration: login.lockoutSeconds }),
    loginPerIp: make({ name: 'login-ip', limit: login.ipMaxFailures, points: login.ipMaxFailures - 1, duration: login.ipWindowSeconds }),
    tokenPerClient: make({ name: 'token-client', limit: token.perClient, points: token.perClient - 1, duration: token.windowSeconds }),
    tokenFailuresPerIp: make({ name: 'token-fail-ip', limit: token.ipMaxFailures, points: token.ipMaxFailures - 1, duration: token.ipWindowSeconds }),
    // Counted before the request: `limit` requests pass, the next one is refused.
    adminPerClient: make({ name: 'admin-client', limit: admin.perClient, points: admin.perClient, duration: admin.windowSeconds }),
  };
}
