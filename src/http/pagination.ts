import { z } from 'zod';
import { badRequest } from './errors.js';
import { unstorableText } from '../db/storable-text.js';

/** `limit` (1–1000, default 100) and an opaque `cursor`, on every list endpoint (CONTRACT.md). */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

export const encodeCursor = (key: string): string => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

/** The one answer to any cursor this server did not issue; it never repeats the cursor (nor does any log line). */
const foreignCursor = () => badRequest('cursor is not one this server issued');

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    // A forged cursor may carry what no key holds (U+0000): refused as foreign, never queried.
    if (typeof parsed.k === 'string' && !unstorableText(parsed.k)) return parsed.k;
  } catch {
    // fall through
  }
  throw foreignCursor();
}

/**
 * Decodes a cursor and checks its key against `key`, the shape this list's keys have (it may transform a compound
 * key into its parts). A key of any other shape (forged, or another list's) is refused with 400 before it reaches
 * a query: a column's type (uuid, timestamptz) must never be what rejects it.
 */
export function decodeCursorKey<T>(cursor: string | undefined, key: z.ZodType<T, string>): T | undefined {
  const raw = decodeCursor(cursor);
  if (raw === undefined) return undefined;
  const parsed = key.safeParse(raw);
  if (!parsed.success) throw foreignCursor();
  return parsed.data;
}

/** The key of a list keyset-paged by a `uuid` id. */
export const uuidCursorKey = z.uuid();

/** Asks the query for one row more than the page, to know whether there is a next page. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, next_cursor: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}
