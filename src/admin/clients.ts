import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { z } from 'zod';
import { originOf } from '../audit/origin.js';
import type { ClientAdminService } from '../clients/admin-service.js';
import type { BuiltInClients } from '../clients/built-in.js';
import { createClientBody, readOnlyClientFields, updateClientBody } from '../clients/metadata-schemas.js';
import { decodeCursor, page, pageQuery } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';

export const listClientsQuery = pageQuery.extend({ workspace_id: z.string().optional() });

export function clientRoutes(service: ClientAdminService, builtIn: BuiltInClients): Router {
  const router = createRouter({ prefix: '/clients' });

  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createClientBody, 'invalid_client_metadata');
    ctx.status = 201;
    ctx.body = await service.create(body, originOf(ctx));
  });

  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, listClientsQuery);
    const rows = await service.list({ workspaceId: query.workspace_id, afterId: decodeCursor(query.cursor) }, query.limit + 1);
    ctx.body = page(rows, query.limit, (row) => row.client_id);
  });

  router.get('/:id', async (ctx) => {
    ctx.body = await service.read(ctx.params.id!);
  });

  router.patch('/:id', jsonBody, async (ctx) => {
    builtIn.assertManageable(ctx.params.id!, 'changed');
    const body = parseBody(ctx, updateClientBody, 'invalid_client_metadata');
    const changes = readOnlyClientFields.drop(body, await service.read(ctx.params.id!));
    ctx.body = await service.update(ctx.params.id!, changes, originOf(ctx));
  });

  router.delete('/:id', async (ctx) => {
    builtIn.assertManageable(ctx.params.id!, 'deleted');
    await service.remove(ctx.params.id!, originOf(ctx));
    ctx.status = 204;
  });

  router.post('/:id/secret', async (ctx) => {
    builtIn.assertManageable(ctx.params.id!, 'given a new secret');
    ctx.body = await service.rotateSecret(ctx.params.id!, originOf(ctx));
  });

  return router;
}
