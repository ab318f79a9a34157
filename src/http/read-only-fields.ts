import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { badRequest } from './errors.js';

/**
 * The timestamps every admin view shows are dropped whatever their value: a body read before another PATCH (its own
 * earlier one, say) carries an older `updated_at`, and that is no reason to refuse it. This is not a concurrency check.
 */
const TIMESTAMPS = ['created_at', 'updated_at'] as const;
type Timestamp = (typeof TIMESTAMPS)[number];

/**
 * The read-only fields a GET of the admin API shows, so that a PATCH may send its body back, modified
 * (GET → modify → PATCH, as Terraform-style tools and admins with jq do). `reasons` names each read-only field
 * besides the timestamps, with why it cannot change; `code` is the error of a changed one.
 */
export function readOnlyFields<const K extends string>(reasons: Record<K, string>, code = 'invalid_request') {
  const why: Record<string, string> = { ...reasons, ...Object.fromEntries(TIMESTAMPS.map((key) => [key, 'is set by the server'])) };
  const ignored = new Set<string>(TIMESTAMPS);
  const description = (key: string) => `read-only (${why[key]}): ${ignored.has(key) ? 'ignored' : 'accepted only with its current value'}`;
  return {
    /** The zod shape of these keys for a strict PATCH body: any value passes here; `drop` checks it. */
    shape: Object.fromEntries(Object.keys(why).map((key) => [key, z.unknown().optional().describe(description(key))])) as Record<K | Timestamp, z.ZodOptional<z.ZodUnknown>>,
    /** The changes left once the read-only keys are dropped: sent with the current value (timestamps: any value), else a 400 naming each key. */
    drop<T extends Record<string, unknown>>(body: T, current: object): Omit<T, K | Timestamp> {
      const changes: Record<string, unknown> = { ...body };
      const problems: string[] = [];
      for (const key of Object.keys(why)) {
        if (!(key in changes)) continue;
        if (ignored.has(key) || isDeepStrictEqual(changes[key], (current as Record<string, unknown>)[key])) delete changes[key];
        else problems.push(`${key}: ${why[key]}; send its current value or leave it out`);
      }
      if (problems.length) throw badRequest(problems.join('; '), code);
      return changes as Omit<T, K | Timestamp>;
    },
  };
}
