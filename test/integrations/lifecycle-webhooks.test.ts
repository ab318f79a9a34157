import { Webhook } from 'standardwebhooks';
import { adminToken, api } from '../support/api.js';
import { startReceiver, waitFor, type Receiver } from '../webhooks/receiver.js';
import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
let receiver: Receiver;
beforeAll(async () => {
  world = await startConsumerWorld();
  receiver = await startReceiver();
}, 90_000);
afterAll(async () => {
  await receiver?.close();
  await world?.close();
});

const verified = (secret: string, request: { body: string; headers: Record<string, unknown> }) =>
  new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as { type: string; data: { id: string; status: string; health: { last_error: string | null } } };

describe('a broken link is noticed at once and reported', () => {
  test('upstream invalid_grant → needs_reauth, a signed webhook, and no further upstream calls', async () => {
    const workspace = `ws-hooks-${Date.now().toString(36)}`;
    const admin = api(world.server, await adminToken(world.server));
    expect((await admin.post('/admin/workspaces', { id: workspace, name: 'Hooks' })).status).toBe(201);
    const url = receiver.route(`/${workspace}`, () => 204);
    const subscription = await admin.post(`/admin/workspaces/${workspace}/webhooks`, { url, events: ['connection.connected', 'connection.needs_reauth', 'connection.revoked'] });
    expect(subscription.status).toBe(201);

    const { call } = await integrationUser(world.server, workspace);
    const connected = await connect(world, call, 'google', { purpose: 'hooked' });
    const first = await waitFor(() => receiver.requestsTo(`/${workspace}`)[0], 'the connected webhook');
    expect(verified(subscription.body.secret, first)).toMatchObject({ type: 'connection.connected', data: { id: connected.body.id, status: 'active' } });

    world.upstream.failRefreshes(true);
    try {
      const refused = await call.post('/integrations/google/token', { purpose: 'hooked', force_refresh: true });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('needs_reauth');
      const second = await waitFor(() => receiver.requestsTo(`/${workspace}`)[1], 'the needs_reauth webhook');
      const payload = verified(subscription.body.secret, second);
      expect(payload).toMatchObject({ type: 'connection.needs_reauth', data: { id: connected.body.id, status: 'needs_reauth' } });
      expect(payload.data.health.last_error).toMatch(/invalid_grant/);
      expect(second.body).not.toMatch(/access_token|refresh_token/);

      // No further upstream calls: neither on demand nor from the scheduler's point of view (the link is not active).
      const calls = world.upstream.counts.refresh;
      expect((await call.post('/integrations/google/token', { purpose: 'hooked' })).status).toBe(409);
      await world.server.context.integrations.runScheduled(connected.body.id);
      expect(world.upstream.counts.refresh).toBe(calls);
    } finally {
      world.upstream.failRefreshes(false);
    }

    // The delivery log says what happened.
    const log = await admin.get(`/admin/workspaces/${workspace}/webhooks/${subscription.body.id}/deliveries`);
    expect(log.body.items.map((d: { event: string; status: string }) => `${d.event}:${d.status}`).sort()).toEqual(['connection.connected:delivered', 'connection.needs_reauth:delivered']);
  });
});

describe('disconnect is idempotent', () => {
  test('disconnecting an already revoked link answers the same, with no second webhook and no second audit event', async () => {
    const workspace = `ws-idem-${Date.now().toString(36)}`;
    const admin = api(world.server, await adminToken(world.server));
    expect((await admin.post('/admin/workspaces', { id: workspace, name: 'Idempotent' })).status).toBe(201);
    const url = receiver.route(`/${workspace}`, () => 204);
    const subscription = await admin.post(`/admin/workspaces/${workspace}/webhooks`, { url, events: ['connection.revoked'] });
    expect(subscription.status).toBe(201);

    const { call } = await integrationUser(world.server, workspace);
    const connected = await connect(world, call, 'google', { purpose: 'twice' });
    const responses = [];
    for (let i = 0; i < 3; i += 1) responses.push(await call.post('/integrations/google/disconnect', { purpose: 'twice' }));
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: connected.body.id, provider: 'google', purpose: 'twice', status: 'revoked' });
    }
    expect(responses[0]!.body.upstream_revocation).toBe('revoked');
    for (const again of responses.slice(1)) expect(again.body).toMatchObject({ upstream_revocation: 'nothing_to_revoke', mailboxes_reverted: [] });

    // One delivery queued, and one received.
    const log = await admin.get(`/admin/workspaces/${workspace}/webhooks/${subscription.body.id}/deliveries`);
    expect(log.body.items.map((d: { event: string }) => d.event)).toEqual(['connection.revoked']);
    const delivered = await waitFor(() => receiver.requestsTo(`/${workspace}`)[0], 'the revoked webhook');
    expect(verified(subscription.body.secret, delivered)).toMatchObject({ type: 'connection.revoked', data: { id: connected.body.id, status: 'revoked' } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.requestsTo(`/${workspace}`)).toHaveLength(1);

    const audit = await admin.get('/admin/audit?type=IntegrationDisconnect&limit=1000');
    const events = audit.body.items.filter((e: { details?: { connection_id?: string } }) => e.details?.connection_id === connected.body.id);
    expect(events).toHaveLength(1);
  });
});
