import type { RedisClient } from '../../db/redis.js';

/**
 * Remembers the SETs already acted on (by a hash of issuer + `jti`). `seen` marks the key and answers whether it
 * was marked before, in one step (two deliveries at once: one acts, the other is a replay). `forget` unmarks a
 * SET whose handling failed, so the transmitter's retry is acted on.
 */
export interface ReplayGuard {
  seen(key: string, ttlSeconds: number): Promise<boolean>;
  forget(key: string): Promise<void>;
}

/** With Redis: `SET NX EX`, shared by every instance. */
export function redisReplayGuard(redis: RedisClient): ReplayGuard {
  const keyOf = (key: string) => `risc:jti:${key}`;
  return {
    async seen(key, ttlSeconds) {
      const set = await redis.set(keyOf(key), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
      return set !== 'OK';
    },
    async forget(key) {
      await redis.del(keyOf(key));
    },
  };
}

/**
 * Without Redis: this process's memory (bounded). Acting twice on one SET is harmless anyway (links already
 * changed are not matched again, and links made after the event are left alone), so an instance restart or a
 * second instance costs at most a repeated no-op.
 */
export function memoryReplayGuard(clock: () => number = Date.now, maxEntries = 100_000): ReplayGuard {
  const until = new Map<string, number>();
  return {
    async seen(key, ttlSeconds) {
      const now = clock();
      const known = until.get(key);
      if (known !== undefined && known > now) return true;
      if (until.size >= maxEntries) {
        for (const [k, expiry] of until) if (expiry <= now) until.delete(k);
        // Still full: drop the oldest entries (Map keeps insertion order).
        for (const k of until.keys()) {
          if (until.size < maxEntries) break;
          until.delete(k);
        }
      }
      until.delete(key);
      until.set(key, now + ttlSeconds * 1000);
      return false;
    },
    async forget(key) {
      until.delete(key);
    },
  };
}

/** Redis when the deployment has it, else memory. */
export const replayGuard = (redis: RedisClient | undefined, clock: () => number): ReplayGuard => (redis ? redisReplayGuard(redis) : memoryReplayGuard(clock));
