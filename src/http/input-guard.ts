import type { Context, Next } from 'koa';
import { badRequest } from './errors.js';
import { unstorableText } from '../db/storable-text.js';

/** Our own APIs and pages (the provider's paths have their own guard). */
const OURS = /^\/(admin|account|integrations|interaction)(\/|$)/;

/**
 * U+0000 in a path or query never names anything here (Postgres text cannot hold it): a 400 before any route
 * runs, rather than a query the database refuses (which would read as a 500 or an outage).
 */
export async function rejectMalformedRequestLine(ctx: Context, next: Next): Promise<void> {
  if (OURS.test(ctx.path) && (/%00/i.test(ctx.path) || /%00/i.test(ctx.querystring) || ctx.path.includes('\0'))) {
    throw badRequest('the request path or query contains U+0000');
  }
  await next();
}

/** Deeper than any body of ours; a limit also keeps recursive code (schemas, logging) off a 20,000-deep body. */
export const MAX_JSON_DEPTH = 32;
/**
 * What makes a parsed input (JSON body, query, params) unfit for any schema, as `path: reason`: a string no
 * Postgres text or jsonb column takes, or nesting deeper than MAX_JSON_DEPTH. Checked before the schema, so no
 * such value reaches a query (where it would fail as a 500) or recursive code (where it would overflow the stack).
 */
export function findUnstorable(value: unknown, path: string[] = []): string | undefined {
  const where = () => (path.length ? `${path.join('.')}: ` : '');
  if (typeof value === 'string') {
    const reason = unstorableText(value);
    return reason && `${where()}${reason}`;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (path.length >= MAX_JSON_DEPTH) return `${where()}nested deeper than ${MAX_JSON_DEPTH} levels`;
  for (const [key, inner] of Object.entries(value)) {
    const keyReason = unstorableText(key);
    if (keyReason) return `${where()}a key ${keyReason}`;
    const reason = findUnstorable(inner, [...path, key]);
    if (reason) return reason;
  }
  return undefined;
}
