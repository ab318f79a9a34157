import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AuditLog } from '../audit/writer.js';
import { originOf } from '../audit/origin.js';
import type { KeyRing } from '../crypto/keyring.js';
import { badRequest, notFound } from '../http/errors.js';
import { isLoopbackHost } from '../http/loopback.js';
import { decodeCursorKey, page, pageQuery, uuidCursorKey } from '../http/pagination.js';
import { jsonBody, parseBody, parseQuery } from '../http/validate.js';
import { CONNECTION_EVENTS } from '../integrations/events.js';
import type { WebhookDeliveryRow, WebhookQueries, WebhookSubscriptionRow } from '../queries/webhooks.js';
import type { WorkspaceQueries } from '../queries/workspaces.js';
import { newWebhookSecret, webhookSecretAad } from '../webhooks/signing.js';
import { SPECIAL_USE_REFUSAL, type OutboundPolicy } from '../net/outbound-policy.js';

/** Where deliveries go: https, or http on a loopback host only (CONTRACT.md); no credentials or fragment in it. */
const receiverUrl = z
  .string()
  .max(2000)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'an absolute URL' });
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: 'an https URL (http only for loopback hosts)' });
    }
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'no credentials in the URL (deliveries are signed instead)' });
    if (url.hash || value.includes('#')) ctx.addIssue({ code: 'custom', message: 'no fragment' });
  });

export const createWebhookBody = z.strictObject({
  url: receiverUrl,
  events: z.array(z.enum(CONNECTION_EVENTS)).min(1).max(20),
});

const toIso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

export const toWebhookView = (row: WebhookSubscriptionRow) => ({
  id: row.id,
  workspace_id: row.workspace_id,
  url: row.url,
  events: row.events,
  created_at: new Date(row.created_at).toISOString(),
});

export const toDeliveryView = (row: WebhookDeliveryRow) => ({
  id: row.id,
  event: row.event,
  status: row.status,
  attempts: row.attempts,
  last_status_code: row.last_status_code,
  last_error: row.last_error,
  next_attempt_at: toIso(row.next_attempt_at),
  created_at: new Date(row.created_at).toISOString(),
  delivered_at: toIso(row.delivered_at),
});

/** The delivery log's cursor: `<created_at ISO>|<id>` (newest first). */
const deliveryKey = (view: { created_at: string; id: string }) => `${view.created_at}|${view.id}`;
/** `toISOString()` of a time within years 0000–9999, to the millisecond, in UTC. */
const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/**
 * Exactly what `deliveryKey` writes: a time the log can hold (the canonical ISO form, 1970–9999, so Postgres never
 * meets an out-of-range timestamp) and a delivery id (a UUID).
 */
const deliveryCursorKey = z.string().transform((key, ctx) => {
  const [createdAt = '', id = '', ...rest] = key.split('|');
  const created = new Date(createdAt);
  const isTime = ISO_MILLIS.test(createdAt) && !Number.isNaN(created.getTime()) && created.toISOString() === createdAt && created.getUTCFullYear() >= 1970;
  if (rest.length > 0 || !isTime || !uuidCursorKey.safeParse(id).success) {
    ctx.addIssue({ code: 'custom', message: 'not a delivery log cursor' });
    return z.NEVER;
  }
  return { created_at: created, id };
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Where the receiver is, for the audit log: a URL's path or query can itself be a secret (Slack-style hooks). */
const originOfUrl = (url: string) => new URL(url).origin;

/**
 * Outbound webhook subscriptions of a workspace (`/admin/workspaces/:id/webhooks`). The signing secret is made
 * here, returned once by POST and stored sealed with the key ring; reads never return it.
 */
export function webhookRoutes(deps: { webhooks: WebhookQueries; workspaces: WorkspaceQueries; keyring: KeyRing; audit: AuditLog; outbound: OutboundPolicy }): Router {
  const { webhooks, workspaces, keyring, audit, outbound } = deps;
  const router = createRouter({ prefix: '/workspaces/:id/webhooks' });

  const workspaceOf = async (ctx: Context) => {
    const id = ctx.params.id!;
    if (!(await workspaces.find(id))) throw notFound(`no workspace ${id}`);
    return id;
  };
  const subscriptionOf = async (ctx: Context) => {
    const workspaceId = await workspaceOf(ctx);
    const id = ctx.params.webhookId!;
    const row = UUID.test(id) ? await webhooks.find(workspaceId, id) : undefined;
    if (!row) throw notFound(`no webhook ${id} in workspace ${workspaceId}`);
    return row;
  };

  router.post('/', jsonBody, async (ctx) => {
    const body = parseBody(ctx, createWebhookBody);
    // An IP literal in a special-use range (169.254.169.254, 10.0.0.5, [::ffff:a00:5], …) could never be delivered
    // to, nor `localhost` where loopback is refused (a public issuer, production). Other names are checked at delivery.
    const host = new URL(body.url).hostname;
    if (outbound.refusesLiteral(isLoopbackHost(host) ? '127.0.0.1' : host)) throw badRequest(`url: ${SPECIAL_USE_REFUSAL}`);
    const workspaceId = await workspaceOf(ctx);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const row = await webhooks.insert({
      id,
      workspace_id: workspaceId,
      url: body.url,
      events: CONNECTION_EVENTS.filter((event) => body.events.includes(event)),
      secret_enc: keyring.encrypt(secret, webhookSecretAad(id)),
    });
    await audit.record({ ...originOf(ctx), type: 'WebhookCreate', workspaceId, details: { webhook_id: id, receiver: originOfUrl(row.url), events: row.events } });
    ctx.status = 201;
    ctx.body = { ...toWebhookView(row), secret };
  });

  router.get('/', async (ctx) => {
    const query = parseQuery(ctx, pageQuery);
    const afterId = decodeCursorKey(query.cursor, uuidCursorKey);
    const workspaceId = await workspaceOf(ctx);
    const rows = await webhooks.list(workspaceId, afterId, query.limit + 1);
    ctx.body = page(rows.map(toWebhookView), query.limit, (row) => row.id);
  });

  router.delete('/:webhookId', async (ctx) => {
    const row = await subscriptionOf(ctx);
    if (!(await webhooks.delete(row.workspace_id, row.id))) throw notFound(`no webhook ${row.id} in workspace ${row.workspace_id}`);
    await audit.record({ ...originOf(ctx), type: 'WebhookDelete', workspaceId: row.workspace_id, details: { webhook_id: row.id, receiver: originOfUrl(row.url) } });
    ctx.status = 204;
  });

  router.get('/:webhookId/deliveries', async (ctx) => {
    const query = parseQuery(ctx, pageQuery);
    const before = decodeCursorKey(query.cursor, deliveryCursorKey);
    const row = await subscriptionOf(ctx);
    const rows = await webhooks.listDeliveries(row.id, before, query.limit + 1);
    ctx.body = page(rows.map(toDeliveryView), query.limit, deliveryKey);
  });

  return router;
}
