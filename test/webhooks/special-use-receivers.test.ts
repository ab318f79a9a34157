import { randomBytes, randomUUID } from 'node:crypto';
import { pollUntil, startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api } from '../support/api.js';
import { startReceiver, waitFor, type Receiver } from './receiver.js';
import { webhookDispatcher, type WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { webhookQueries } from '../../src/queries/webhooks.js';
import { newWebhookSecret, webhookSecretAad } from '../../src/webhooks/signing.js';
import { memoryQueue } from '../../src/jobs/memory-queue.js';
import type { JobQueue } from '../../src/jobs/queue.js';
import type { ConnectionRow } from '../../src/queries/connections.js';

/**
 * Webhooks never reach special-use addresses (SSRF): an IP literal in such a range is a 400 when the subscription is
 * made, and a delivery whose receiver resolves to one fails at once, without a retry. Two exceptions: an issuer on
 * a loopback host may deliver to loopback (the rest of the suite), and OUTBOUND_ALLOW_PRIVATE_NETWORKS.
 * The servers below listen on 127.0.0.1 but say they are https://auth.example.test (a public issuer).
 */

const REFUSAL = 'destination address is not allowed (special-use)';
const PUBLIC_ISSUER = 'https://auth.example.test';
const rand = () => randomBytes(4).toString('hex');
const queues: JobQueue[] = [];
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const queue of queues) await queue.stop();
  await receiver?.close();
});

async function workspace(admin: ReturnType<typeof api>): Promise<string> {
  const id = `whs-${rand()}`;
  expect((await admin.post('/admin/workspaces', { id, name: 'Special-use receivers' })).status).toBe(201);
  return id;
}

/** A dispatcher as the server builds it: its database, keyring, audit log and outbound policy, with a short retry. */
async function dispatcherOf(server: TestServer): Promise<WebhookDispatcher> {
  const queue = memoryQueue(server.context.logger);
  queues.push(queue);
  const built = webhookDispatcher({
    webhooks: webhookQueries(server.context.database.db),
    keyring: server.context.keyring,
    queue,
    clock: Date.now,
    logger: server.context.logger,
    audit: server.context.audit,
    outbound: server.context.outbound,
    retryLimit: 3,
    retryDelaySeconds: 0.05,
    timeoutMs: 2000,
  });
  await built.start();
  return built;
}

function connection(ws: string): ConnectionRow {
  const now = new Date();
  return {
    id: randomUUID(), workspace_id: ws, actor_type: 'user', actor_id: 'u-1', provider: 'google', purpose: 'default', status: 'active',
    provider_subject: 'sub-1', provider_email: 'someone@example.com', scopes: ['openid'], access_token_enc: 'x', refresh_token_enc: 'y',
    token_type: 'Bearer', expires_at: new Date(now.getTime() + 3600_000), connected_at: now, last_refreshed_at: null, last_success_at: now,
    last_error: null, last_error_at: null, revoked_at: null, created_at: now, updated_at: now,
  };
}

const settled = async (server: TestServer, subscriptionId: string) => {
  const rows = await webhookQueries(server.context.database.db).listDeliveries(subscriptionId, undefined, 10);
  return rows.length && rows.every((row) => row.status !== 'pending') ? rows : undefined;
};

/** A subscription stored without the API (as one made before this rule): the delivery must still be checked. */
async function storedSubscription(server: TestServer, ws: string, url: string) {
  const id = randomUUID();
  await webhookQueries(server.context.database.db).insert({ id, workspace_id: ws, url, events: ['connection.connected'], secret_enc: server.context.keyring.encrypt(newWebhookSecret(), webhookSecretAad(id)) });
  return id;
}

describe('creating a subscription (issuer on loopback, as in the rest of the suite)', () => {
  let server: TestServer;
  let admin: ReturnType<typeof api>;
  beforeAll(async () => {
    server = await startTestServer();
    admin = api(server, await adminToken(server));
  });
  afterAll(async () => server?.destroy());

  test('an IP literal in a special-use range is a 400 (metadata, private, IPv4-mapped, hex); loopback and names pass', async () => {
    const ws = await workspace(admin);
    for (const url of ['https://169.254.169.254/latest/meta-data', 'https://[::ffff:a00:5]/hook', 'https://[::ffff:169.254.169.254]/hook', 'https://0x0a000005/hook', 'https://10.0.0.5/hook', 'https://192.168.1.10/hook', 'https://[fd00::5]/hook', 'https://[fe80::1]/hook', 'https://0.0.0.0/hook']) {
      const response = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url, events: ['connection.connected'] });
      expect({ url, status: response.status, error: response.body.error, description: response.body.error_description }).toEqual({ url, status: 400, error: 'invalid_request', description: `url: ${REFUSAL}` });
    }
    expect((await admin.get(`/admin/workspaces/${ws}/webhooks`)).body.items).toEqual([]);
    for (const url of ['http://127.0.0.1:9/hook', 'https://receiver.example.com/hook', 'https://93.184.215.14/hook']) {
      expect({ url, status: (await admin.post(`/admin/workspaces/${ws}/webhooks`, { url, events: ['connection.connected'] })).status }).toEqual({ url, status: 201 });
    }
  });
});

describe('a public issuer', () => {
  let server: TestServer;
  let admin: ReturnType<typeof api>;
  let events: WebhookDispatcher;
  beforeAll(async () => {
    server = await startTestServer({ config: { issuer: PUBLIC_ISSUER } });
    admin = api(server, await adminToken(server));
    events = await dispatcherOf(server);
  });
  afterAll(async () => server?.destroy());

  test('a receiver on loopback gets nothing: one failed attempt with the reason, no retry, a failure audit event', async () => {
    expect(server.context.config.issuer).toBe(PUBLIC_ISSUER);
    const ws = await workspace(admin);
    const port = new URL(receiver.url).port;
    // `localhost` is refused at creation here; a name and a literal stored before the rule existed are refused at
    // delivery (a name is resolved: localhost is 127.0.0.1 / ::1).
    const refused = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: `http://localhost:${port}/by-name-${ws}`, events: ['connection.connected'] });
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 400, body: { error: 'invalid_request', error_description: `url: ${REFUSAL}` } });
    const byName = { body: { id: await storedSubscription(server, ws, `http://localhost:${port}/by-name-${ws}`) } };
    const literal = await storedSubscription(server, ws, `http://127.0.0.1:${port}/literal-${ws}`);
    receiver.route(`/by-name-${ws}`, () => 204);
    receiver.route(`/literal-${ws}`, () => 204);

    await events.emit('connection.connected', connection(ws));
    for (const id of [byName.body.id as string, literal]) {
      const [delivery] = await waitFor(() => settled(server, id), 'the refused delivery');
      expect(delivery).toMatchObject({ status: 'failed', attempts: 1, last_status_code: null, last_error: REFUSAL, next_attempt_at: null });
      // The event may be recorded just after the delivery row settles: wait for it, then make sure there is one.
      const audit = await pollUntil(
        async () => {
          await server.context.audit.flush();
          return server.context.database.db('audit_events').where({ type: 'WebhookDelivery' }).whereRaw("details->>'delivery_id' = ?", [delivery!.id]);
        },
        (rows) => rows.length > 0,
        10_000,
      );
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ outcome: 'failure' });
    }
    const log = await admin.get(`/admin/workspaces/${ws}/webhooks/${byName.body.id}/deliveries`);
    expect(log.body.items).toEqual([expect.objectContaining({ status: 'failed', attempts: 1, last_error: REFUSAL })]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // retries would have come by now
    expect(receiver.requestsTo(`/by-name-${ws}`)).toHaveLength(0);
    expect(receiver.requestsTo(`/literal-${ws}`)).toHaveLength(0);
    expect((await settled(server, byName.body.id))![0]).toMatchObject({ attempts: 1 });
  });
});

describe('a public issuer with OUTBOUND_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8', () => {
  let server: TestServer;
  let admin: ReturnType<typeof api>;
  let events: WebhookDispatcher;
  beforeAll(async () => {
    server = await startTestServer({ config: { issuer: PUBLIC_ISSUER, outbound: { allowPrivateNetworks: ['127.0.0.0/8'] } } });
    admin = api(server, await adminToken(server));
    events = await dispatcherOf(server);
  });
  afterAll(async () => server?.destroy());

  test('the receiver on 127.0.0.1 gets its delivery; other special-use literals are still a 400', async () => {
    const ws = await workspace(admin);
    const hook = receiver.route(`/allowed-${ws}`, () => 204);
    const created = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: hook, events: ['connection.connected'] });
    expect(created.status).toBe(201);
    await events.emit('connection.connected', connection(ws));
    const [delivery] = await waitFor(() => settled(server, created.body.id), 'the delivery');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 204, last_error: null });
    expect(receiver.requestsTo(`/allowed-${ws}`)).toHaveLength(1);

    const metadata = await admin.post(`/admin/workspaces/${ws}/webhooks`, { url: 'https://169.254.169.254/latest/meta-data', events: ['connection.connected'] });
    expect(metadata.status).toBe(400);
    expect(metadata.body.error_description).toBe(`url: ${REFUSAL}`);
  });
});
