import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { AUDIT_TYPES } from '../audit/types.js';
import { decodeCursor, encodeCursor, pageQuery } from '../http/pagination.js';
import { badRequest } from '../http/errors.js';
import { parseQuery } from '../http/validate.js';
import type { AuditEventRow, AuditQueries } from '../queries/audit.js';

export const auditQuery = pageQuery.extend({
  type: z.enum(AUDIT_TYPES).optional(),
  client_id: z.string().max(200).optional(),
  account_id: z.string().max(200).optional(),
  actor: z.string().max(300).optional(),
  request_id: z.string().max(128).optional(),
  since: z.iso
    .datetime({ offset: true })
    .refine((value) => Number(value.slice(0, 4)) >= 1970, 'a time after 1970')
    .optional(),
});

export const toAuditView = (row: AuditEventRow) => ({
  id: row.id,
  time: new Date(row.created_at).toISOString(),
  type: row.type,
  outcome: row.outcome,
  actor: row.actor,
  workspace_id: row.workspace_id,
  client_id: row.client_id,
  account_id: row.account_id,
  ip: row.ip,
  request_id: row.request_id,
  details: row.details,
});

/** GET /admin/audit: newest first, filters, keyset cursor on the event id. */
export function auditRoutes(audit: AuditQueries): Router {
  const router = createRouter({ prefix: '/audit' });
  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, auditQuery);
    const cursor = decodeCursor(query.cursor);
    // Event ids are positive bigints: anything else (or beyond 2^63-1) was not issued here.
    if (cursor !== undefined && (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > 9_223_372_036_854_775_807n)) throw badRequest('cursor is not one this server issued');
    const rows = await audit.list({
      type: query.type,
      client_id: query.client_id,
      account_id: query.account_id,
      actor: query.actor,
      request_id: query.request_id,
      since: query.since ? new Date(query.since) : undefined,
      beforeId: cursor,
      limit: query.limit + 1,
    });
    const items = rows.slice(0, query.limit).map(toAuditView);
    ctx.body = { items, next_cursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.id) : null };
  });
  return router;
}
