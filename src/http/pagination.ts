import { z } from 'zod';
import { badRequest } from './errors.js';
import { unstorableText } from '../db/storable-text.js';

/** `limit` (1–1000, default 100) and an opaque `cursor`, on every list endpoint (CONTRACT.md). */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

export const encodeCursor = (key: string): string => Buffer.from(JSON.stringify({ k: key })).toString('base64url');

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    // A forged cursor may carry what no key holds (U+0000): refused as foreign, never queried.
    if (typeof parsed.k === 'string' && !unstorableText(parsed.k)) return parsed.k;
  } catch {
    // fall through
  }
  throw badRequest('cursor is not one this server issued');
}

/** Asks the query for one row more than the page, to know whether there is a next page. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, next_cursor: rows.length > limit ? encodeCursor(keyOf(items[items.length - 1]!)) : null };
}
