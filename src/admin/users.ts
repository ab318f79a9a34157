import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import type { UserAdminService } from '../accounts/admin-service.js';
import { originOf } from '../audit/origin.js';
import { decodeCursorKey, page, pageQuery, uuidCursorKey } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';
import { readOnlyFields } from '../http/read-only-fields.js';

const password = z.string().min(8, 'at least 8 characters').max(1024);
const role = z.string().regex(/^[A-Za-z][A-Za-z0-9_:.-]{0,63}$/, 'a role name: letters, digits, _ : . -');
/** A set of roles: a repeated one is kept once, in first-seen order. */
const roles = z
  .array(role)
  .max(50)
  .transform((list) => [...new Set(list)]);

export const createUserBody = z.strictObject({
  email: z.email().max(320),
  password,
  name: z.string().min(1).max(200).optional(),
  workspace_id: z.string().min(1).max(128).optional(),
  email_verified: z.boolean().optional(),
  roles: roles.optional(),
});

/** What GET shows and no PATCH changes: sent back with its current value (timestamps: any value), it is dropped. */
const readOnly = readOnlyFields({
  id: 'is set by the server',
  email: 'is fixed at creation',
  workspace_id: 'is fixed at creation; a user belongs to one workspace',
});

/** PATCH: the writable fields, plus the read-only ones GET shows (GET → modify → PATCH). `password` is never shown: a plain write. */
export const updateUserBody = z
  .strictObject({
    name: z.string().min(1).max(200).nullable().optional(),
    password: password.optional(),
    roles: roles.optional(),
    email_verified: z.boolean().optional(),
    ...readOnly.shape,
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');

export const listUsersQuery = pageQuery.extend({ workspace_id: z.string().optional() });

export function userRoutes(service: UserAdminService): Router {
  const router = createRouter({ prefix: '/users' });
  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createUserBody);
    ctx.status = 201;
    ctx.body = await service.create(body, originOf(ctx));
  });
  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, listUsersQuery);
    const afterId = decodeCursorKey(query.cursor, uuidCursorKey);
    const rows = await service.list({ workspaceId: query.workspace_id, afterId }, query.limit + 1);
    ctx.body = page(rows, query.limit, (row) => row.id);
  });
  router.get('/:id', async (ctx) => {
    ctx.body = await service.read(ctx.params.id!);
  });
  router.patch('/:id', jsonBody, async (ctx) => {
    const body = parseBody(ctx, updateUserBody);
    const changes = readOnly.drop(body, await service.read(ctx.params.id!));
    ctx.body = await service.update(ctx.params.id!, changes, originOf(ctx));
  });
  router.delete('/:id', async (ctx) => {
    await service.remove(ctx.params.id!, originOf(ctx));
    ctx.status = 204;
  });
  return router;
}
