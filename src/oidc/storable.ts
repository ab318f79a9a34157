import { unstorableText } from '../db/storable-text.js';

/**
 * What Postgres can hold: `text` and `jsonb` refuse U+0000, `jsonb` refuses an unpaired UTF-16 surrogate
 * (`"\ud800"`) and a `text` parameter holding one arrives as U+FFFD (the rule is src/db/storable-text.ts, shared
 * with our own routes). Such a value names nothing stored and can never be stored: bad
 * input (400), not a query the database refuses (a 500 or, through the adapter, a 503 that reads as an outage).
 * https://www.postgresql.org/docs/current/datatype-json.html
 */
export const isStorableText = (value: string): boolean => unstorableText(value) === undefined;

/** Every string in a JSON-like value, object keys included, is storable. */
export function isStorable(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorable);
  if (value !== null && typeof value === 'object') return Object.entries(value).every(([key, item]) => isStorableText(key) && isStorable(item));
  return true;
}
