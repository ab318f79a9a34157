import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import knexFactory from 'knex';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { describeWith, services } from '../support/services.js';
import { startReceiver, waitFor, type Behaviour, type Receiver } from './receiver.js';
import { webhookDispatcher, type WebhookDispatcher, type WebhookDispatcherOptions } from '../../src/webhooks/dispatcher.js';
import { signWebhook } from '../../src/webhooks/signing.js';
import { webhookQueries, type WebhookDeliveryRow, type WebhookQueries } from '../../src/queries/webhooks.js';
import { memoryQueue } from '../../src/jobs/memory-queue.js';
import { pgBossQueue } from '../../src/jobs/pg-boss-queue.js';
import type { JobQueue } from '../../src/jobs/queue.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import type { ConnectionEvent } from '../../src/integrations/events.js';

/**
 * The webhook dispatcher against the real database, the in-process queue (and pg-boss when Postgres is there) and a
 * local receiver: Standard Webhooks signatures checked with the `standardwebhooks` package (an independent
 * implementation), retries with backoff, the delivery log, and who gets what.
 */

let server: TestServer;
let admin: ReturnType<typeof api>;
let receiver: Receiver;
let webhooks: WebhookQueries;
const queues: JobQueue[] = [];
const rand = () => randomBytes(4).toString('hex');
/** Plaintext tokens put on the connection rows: they must never reach a receiver. */
const TOKEN_MARKERS = ['at-plaintext-never-sent', 'rt-plaintext-never-sent'];

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  receiver = await startReceiver();
  webhooks = webhookQueries(server.context.database.db);
});
afterAll(async () => {
  for (const queue of queues) await queue.stop();
  await receiver?.close();
  await server?.destroy();
});

/** A dispatcher over the test server's database, keyring and audit log, with its own queue. */
async function dispatcher(options: Partial<WebhookDispatcherOptions> = {}, start = true): Promise<WebhookDispatcher> {
  const queue = options.queue ?? memoryQueue(server.context.logger);
  queues.push(queue);
  const built = webhookDispatcher({
    webhooks,
    keyring: server.context.keyring,
    queue,
    clock: Date.now,
    logger: server.context.logger,
    audit: server.context.audit,
    retryLimit: 3,
    retryDelaySeconds: 0.05,
    timeoutMs: 2000,
    outbound: server.context.outbound,
    ...options,
  });
  if (start) await built.start();
  return built;
}

async function workspace(): Promise<string> {
  const id = `whd-${rand()}`;
  expect((await admin.post('/admin/workspaces', { id, name: 'Webhook deliveries' })).status).toBe(201);
  return id;
}

/** A subscription made through the admin API; its id and secret. */
async function subscribe(ws: string, url: string, events: ConnectionEvent[] = ['connection.connected']): Promise<{ id: string; secret: string }> {
  const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url, events });
  expect(created.status).toBe(201);
  return { id: created.body.id, secret: created.body.secret };
}

/** A receiver path of its own with a behaviour. */
const route = (behaviour: Behaviour) => {
  const path = `/hook-${rand()}`;
  return { path, url: receiver.route(path, behaviour) };
};

function connection(ws: string, overrides: Partial<ConnectionRow> = {}): ConnectionRow {
  const now = new Date();
  return {
    id: randomUUID(),
    workspace_id: ws,
    actor_type: 'user',
    actor_id: 'u-1',
    provider: 'google',
    purpose: 'default',
    status: 'active',
    provider_subject: 'sub-1',
    provider_email: 'someone@example.com',
    scopes: ['openid', 'email'],
    access_token_enc: TOKEN_MARKERS[0]!,
    refresh_token_enc: TOKEN_MARKERS[1]!,
    token_type: 'Bearer',
    expires_at: new Date(now.getTime() + 3600_000),
    connected_at: now,
    last_refreshed_at: null,
    last_success_at: now,
    last_error: null,
    last_error_at: null,
    revoked_at: null,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

const deliveriesOf = (subscriptionId: string) => webhooks.listDeliveries(subscriptionId, undefined, 100);
const settled = async (subscriptionId: string, count = 1) => {
  const rows = await deliveriesOf(subscriptionId);
  return rows.length >= count && rows.every((row) => row.status !== 'pending') ? rows : undefined;
};
async function auditOf(deliveryId: string) {
  await server.context.audit.flush();
  return server.context.database.db('audit_events').where({ type: 'WebhookDelivery' }).whereRaw("details->>'delivery_id' = ?", [deliveryId]);
}

describe('with the in-process queue', () => {
  let events: WebhookDispatcher;
  beforeAll(async () => {
    events = await dispatcher();
  });

  test('a delivery arrives signed the Standard Webhooks way, with the connection and never a token', async () => {
    const ws = await workspace();
    const hook = route(() => 204);
    const sub = await subscribe(ws, hook.url, ['connection.connected', 'connection.revoked']);
    const row = connection(ws);
    await events.emit('connection.connected', row);

    const [request] = await waitFor(() => (receiver.requestsTo(hook.path).length ? receiver.requestsTo(hook.path) : undefined), 'the delivery');
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toMatch(/^oauth-hub-webhooks\//);
    const [delivery] = await waitFor(() => settled(sub.id), 'the delivery to settle');
    expect(request!.headers['webhook-id']).toBe(delivery!.id);
    expect(Number(request!.headers['webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);

    // The independent implementation accepts it, and returns the payload.
    const headers = { 'webhook-id': String(request!.headers['webhook-id']), 'webhook-timestamp': String(request!.headers['webhook-timestamp']), 'webhook-signature': String(request!.headers['webhook-signature']) };
    const payload = new Webhook(sub.secret).verify(request!.body, headers) as Record<string, any>;
    expect(payload).toEqual({
      type: 'connection.connected',
      timestamp: expect.any(String),
      data: expect.objectContaining({ id: row.id, provider: 'google', purpose: 'default', status: 'active', actor: 'user:u-1', workspace_id: ws, identity: { subject: 'sub-1', email: 'someone@example.com' } }),
    });
    expect(Date.parse(payload.timestamp)).not.toBeNaN();
    for (const marker of TOKEN_MARKERS) expect(request!.body).not.toContain(marker);
    expect(request!.body).not.toMatch(/access_token|refresh_token/);

    // Another secret, a changed body or a changed id: refused.
    const other = await subscribe(ws, hook.url);
    expect(() => new Webhook(other.secret).verify(request!.body, headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(sub.secret).verify(request!.body.replace('google', 'googlf'), headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(sub.secret).verify(request!.body, { ...headers, 'webhook-id': randomUUID() })).toThrow(WebhookVerificationError);

    // The log and the audit event.
    expect(delivery).toMatchObject({ event: 'connection.connected', status: 'delivered', attempts: 1, last_status_code: 204, last_error: null, next_attempt_at: null });
    expect(delivery!.delivered_at).toBeInstanceOf(Date);
    const log = await admin.get(`/admin/workspaces/${ws}/webhooks/${sub.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body).toEqual({
      items: [{ id: delivery!.id, event: 'connection.connected', status: 'delivered', attempts: 1, last_status_code: 204, last_error: null, next_attempt_at: null, created_at: expect.any(String), delivered_at: expect.any(String) }],
      next_cursor: null,
    });
    const audit = await auditOf(delivery!.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', actor: 'system', workspace_id: ws, details: { delivery_id: delivery!.id, event: 'connection.connected', status_code: 204, attempts: 1, subscription_id: sub.id } });
    const auditDump = JSON.stringify(await server.context.database.db('audit_events').select('*'));
    expect(auditDump).not.toContain(sub.secret);
    expect(auditDump).not.toContain(String(request!.headers['webhook-signature']).slice(3));
  });

  test('our signer matches the package byte for byte', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const id = randomUUID();
    const body = JSON.stringify({ type: 'connection.revoked', data: { ü: 'ñ' } });
    const at = new Date(1_700_000_000_000);
    expect(signWebhook(secret, id, 1_700_000_000, body)).toBe(new Webhook(secret).sign(id, at, body));
  });

  test('500, 500, then 200: delivered on the third attempt, with backoff, the same webhook-id each time', async () => {
    const ws = await workspace();
    const hook = route((n) => (n < 2 ? 500 : 200));
    const sub = await subscribe(ws, hook.url, ['connection.refreshed']);
    await events.emit('connection.refreshed', connection(ws));

    const [delivery] = await waitFor(() => settled(sub.id), 'the delivery to settle');
    const requests = receiver.requestsTo(hook.path);
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery!.id]));
    // Delays double from 50 ms: ≥ 50 ms, then ≥ 100 ms.
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(45);
    expect(requests[2]!.at - requests[1]!.at).toBeGreaterThanOrEqual(95);
    for (const request of requests) {
      expect(() => new Webhook(sub.secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    }
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null });

    const log = await admin.get(`/admin/workspaces/${ws}/webhooks/${sub.id}/deliveries`);
    expect(log.body.items).toEqual([expect.objectContaining({ id: delivery!.id, status: 'delivered', attempts: 3, last_status_code: 200 })]);
    const audit = await auditOf(delivery!.id);
    expect(audit).toHaveLength(1); // one event for the final outcome, none per failed attempt
    expect(audit[0]).toMatchObject({ outcome: 'success', details: { status_code: 200, attempts: 3 } });
  });

  test('the log shows a failing attempt while a retry is pending', async () => {
    const ws = await workspace();
    const hook = route((n) => (n < 1 ? 503 : 200));
    const slow = await dispatcher({ retryDelaySeconds: 2 });
    const sub = await subscribe(ws, hook.url, ['connection.needs_reauth']);
    await slow.emit('connection.needs_reauth', connection(ws, { status: 'needs_reauth' }));
    const [pending] = await waitFor(async () => {
      const rows = await deliveriesOf(sub.id);
      return rows[0]?.attempts === 1 ? rows : undefined;
    }, 'the first attempt');
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 503, last_error: 'HTTP 503' });
    expect(pending!.next_attempt_at!.getTime()).toBeGreaterThan(Date.now());
    const log = await admin.get(`/admin/workspaces/${ws}/webhooks/${sub.id}/deliveries`);
    expect(log.body.items[0]).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 503, last_error: 'HTTP 503', next_attempt_at: expect.any(String), delivered_at: null });
    const [done] = await waitFor(() => settled(sub.id), 'the retry');
    expect(done).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200 });
  });

  test('always 500: failed after retryLimit retries, one failure audit event, then nothing more', async () => {
    const ws = await workspace();
    const hook = route(() => 500);
    const sub = await subscribe(ws, hook.url, ['connection.revoked']);
    await events.emit('connection.revoked', connection(ws, { status: 'revoked', revoked_at: new Date() }));

    const [delivery] = await waitFor(() => settled(sub.id), 'the delivery to fail');
    expect(delivery).toMatchObject({ status: 'failed', attempts: 4, last_status_code: 500, last_error: 'HTTP 500', delivered_at: null, next_attempt_at: null });
    expect(receiver.requestsTo(hook.path)).toHaveLength(4); // the first attempt and 3 retries
    const audit = await auditOf(delivery!.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'failure', actor: 'system', workspace_id: ws, details: { delivery_id: delivery!.id, event: 'connection.revoked', status_code: 500, attempts: 4 } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.requestsTo(hook.path)).toHaveLength(4);
  });

  test('only subscriptions of the connection’s workspace that listen to the event get it', async () => {
    const ws = await workspace();
    const otherWs = await workspace();
    const listening = route(() => 200);
    const otherEvents = route(() => 200);
    const otherWorkspace = route(() => 200);
    const sub = await subscribe(ws, listening.url, ['connection.connected']);
    const deaf = await subscribe(ws, otherEvents.url, ['connection.refreshed', 'connection.revoked', 'connection.needs_reauth']);
    const foreign = await subscribe(otherWs, otherWorkspace.url, ['connection.connected']);

    await events.emit('connection.connected', connection(ws));
    // Deliveries are written before emit returns: the others have none at all.
    expect(await deliveriesOf(deaf.id)).toEqual([]);
    expect(await deliveriesOf(foreign.id)).toEqual([]);
    await waitFor(() => settled(sub.id), 'the listening subscription’s delivery');
    expect(receiver.requestsTo(listening.path)).toHaveLength(1);
    expect(receiver.requestsTo(otherEvents.path)).toHaveLength(0);
    expect(receiver.requestsTo(otherWorkspace.path)).toHaveLength(0);
  });

  test('a redirect is not followed: it is a failed attempt', async () => {
    const ws = await workspace();
    const target = route(() => 200);
    const hook = route(() => ({ status: 307, headers: { location: target.url } }));
    const once = await dispatcher({ retryLimit: 0 });
    const sub = await subscribe(ws, hook.url);
    await once.emit('connection.connected', connection(ws));
    const [delivery] = await waitFor(() => settled(sub.id), 'the delivery');
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 307, last_error: 'HTTP 307' });
    expect(receiver.requestsTo(target.path)).toHaveLength(0);
  });

  test('a receiver that does not answer times out; one that is not there is refused', async () => {
    const ws = await workspace();
    const hang = route(() => 'hang');
    const quick = await dispatcher({ retryLimit: 0, timeoutMs: 200 });
    const slowSub = await subscribe(ws, hang.url);
    // A loopback port nothing listens on any more.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const goneSub = await subscribe(ws, `http://127.0.0.1:${port}/hook`);
    const started = Date.now();
    await quick.emit('connection.connected', connection(ws));
    const [timedOut] = await waitFor(() => settled(slowSub.id), 'the timeout');
    expect(timedOut).toMatchObject({ status: 'failed', attempts: 1, last_status_code: null, last_error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
    const [refused] = await waitFor(() => settled(goneSub.id), 'the refusal');
    expect(refused).toMatchObject({ status: 'failed', attempts: 1, last_status_code: null, last_error: expect.stringContaining('ECONNREFUSED') });
    const audit = await auditOf(refused!.id);
    expect(audit[0]).toMatchObject({ outcome: 'failure', details: { status_code: null } });
  });

  test('a subscription deleted before its delivery runs: nothing is sent', async () => {
    const ws = await workspace();
    const hook = route(() => 200);
    const paused = await dispatcher({}, false); // no worker yet
    const sub = await subscribe(ws, hook.url);
    await paused.emit('connection.connected', connection(ws));
    const [delivery] = await deliveriesOf(sub.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await admin.delete(`/admin/workspaces/${ws}/webhooks/${sub.id}`)).status).toBe(204);
    await paused.start();
    await paused.deliver(delivery!.id); // also runs as the queue's job: a no-op either way
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requestsTo(hook.path)).toHaveLength(0);
    expect(await webhooks.findDelivery(delivery!.id)).toBeUndefined();
  });

  test('emit never throws into the caller', async () => {
    const ws = await workspace();
    const hook = route(() => 200);
    await subscribe(ws, hook.url);
    const failingQueue: JobQueue = { ...memoryQueue(server.context.logger), send: async () => Promise.reject(new Error('queue down')) };
    const broken = await dispatcher({ queue: failingQueue });
    await expect(broken.emit('connection.connected', connection(ws))).resolves.toBeUndefined();
    const noDatabase = await dispatcher({ webhooks: { ...webhooks, forEvent: async () => Promise.reject(new Error('database down')) } });
    await expect(noDatabase.emit('connection.connected', connection(ws))).resolves.toBeUndefined();
  });

  test('resumePending queues what an earlier process left pending', async () => {
    const ws = await workspace();
    const hook = route(() => 200);
    const sub = await subscribe(ws, hook.url);
    const crashed = await dispatcher({}, false); // emitted, then the process died before any attempt
    await crashed.emit('connection.connected', connection(ws));
    expect((await deliveriesOf(sub.id))[0]).toMatchObject({ status: 'pending' });
    const next = await dispatcher({}, false);
    await next.start({ resumePending: true });
    const [delivery] = await waitFor(() => settled(sub.id), 'the resumed delivery');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(receiver.requestsTo(hook.path)).toHaveLength(1);
  });

  test('the delivery log pages newest first', async () => {
    const ws = await workspace();
    const hook = route(() => 200);
    const sub = await subscribe(ws, hook.url, ['connection.connected', 'connection.refreshed']);
    for (const event of ['connection.connected', 'connection.refreshed', 'connection.refreshed'] as const) {
      await events.emit(event, connection(ws));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const all = await waitFor(() => settled(sub.id, 3), 'three deliveries');
    const path = `/admin/workspaces/${ws}/webhooks/${sub.id}/deliveries`;
    const first = await admin.get(`${path}?limit=2`);
    expect(first.body.items).toHaveLength(2);
    const second = await admin.get(`${path}?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.next_cursor).toBeNull();
    const walked = [...first.body.items, ...second.body.items];
    expect(walked.map((item: { id: string }) => item.id)).toEqual(all.map((row) => row.id));
    expect(walked.map((item: { event: string }) => item.event)).toEqual(['connection.refreshed', 'connection.refreshed', 'connection.connected']);
    const times = walked.map((item: { created_at: string }) => Date.parse(item.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test('retention deletes finished deliveries past it, and keeps pending ones', async () => {
    const ws = await workspace();
    const sub = await subscribe(ws, 'https://receiver.invalid/hook');
    const old = new Date(Date.now() - 40 * 24 * 3600_000);
    const ids = { done: randomUUID(), pending: randomUUID(), recent: randomUUID() };
    await webhooks.insertDelivery({ id: ids.done, subscription_id: sub.id, event: 'connection.connected', payload: {}, created_at: old });
    await webhooks.recordAttempt(ids.done, 0, { status: 'delivered', last_status_code: 200, last_error: null, next_attempt_at: null, delivered_at: old });
    await webhooks.insertDelivery({ id: ids.pending, subscription_id: sub.id, event: 'connection.connected', payload: {}, created_at: old });
    await webhooks.insertDelivery({ id: ids.recent, subscription_id: sub.id, event: 'connection.connected', payload: {}, created_at: new Date() });
    await webhooks.recordAttempt(ids.recent, 0, { status: 'failed', last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: null, delivered_at: null });
    const pruner = await dispatcher({ retentionDays: 30 }, false);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(1);
    expect(await webhooks.findDelivery(ids.done)).toBeUndefined();
    expect(await webhooks.findDelivery(ids.pending)).toBeDefined();
    expect(await webhooks.findDelivery(ids.recent)).toBeDefined();
    await webhooks.recordAttempt(ids.pending, 0, { status: 'failed', last_status_code: null, last_error: 'test', next_attempt_at: null, delivered_at: null });
  });

  // The rows the log route pages over are those of one subscription only (keyset on created_at, id).
  test('listDeliveries keeps to one subscription', async () => {
    const ws = await workspace();
    const a = await subscribe(ws, 'https://a.invalid/hook');
    const b = await subscribe(ws, 'https://b.invalid/hook');
    const row = (subscription_id: string): Parameters<WebhookQueries['insertDelivery']>[0] => ({ id: randomUUID(), subscription_id, event: 'connection.connected', payload: { n: 1 }, created_at: new Date() });
    await webhooks.insertDelivery(row(a.id));
    await webhooks.insertDelivery(row(b.id));
    const listed: WebhookDeliveryRow[] = await webhooks.listDeliveries(a.id, undefined, 10);
    expect(listed.map((d) => d.subscription_id)).toEqual([a.id]);
    expect(listed[0]!.payload).toEqual({ n: 1 });
  });
});

describeWith('postgres', 'with pg-boss', () => {
  const schema = `t_wh_${rand()}_pgboss`;
  let boss: JobQueue;
  beforeAll(async () => {
    boss = await pgBossQueue({ connectionString: services.databaseUrl!, schema, logger: server.context.logger });
  });
  afterAll(async () => {
    const index = queues.indexOf(boss);
    if (index >= 0) queues.splice(index, 1);
    await boss?.stop();
    const db = knexFactory({ client: 'pg', connection: services.databaseUrl, pool: { min: 0, max: 1 } });
    await db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]).finally(() => db.destroy());
  });

  test('a failed attempt is retried by the queue, then delivered', async () => {
    const events = await dispatcher({ queue: boss, retryLimit: 2, retryDelaySeconds: 1 });
    const ws = await workspace();
    const hook = route((n) => (n < 1 ? 500 : 200));
    const sub = await subscribe(ws, hook.url);
    await events.emit('connection.connected', connection(ws));
    const [delivery] = await waitFor(() => settled(sub.id), 'the delivery through pg-boss', 25_000);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200 });
    const requests = receiver.requestsTo(hook.path);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(900);
    expect(() => new Webhook(sub.secret).verify(requests[1]!.body, requests[1]!.headers as Record<string, string>)).not.toThrow();
  }, 30_000);
});
