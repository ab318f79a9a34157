import { connectionSealer } from '../../src/integrations/sealing.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import { startCountingUpstream, writeProvidersFile, type CountingUpstream } from '../../bench/integrations/counting-upstream.js';
import { seedLinks } from '../../bench/integrations/seed.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { describeWith } from '../support/services.js';

/** Links written the way a finished authorization writes them, expiring between `minS` and `maxS` seconds from now. */
async function seedConnections(server: TestServer, upstream: CountingUpstream, count: number, minS: number, maxS: number): Promise<string[]> {
  const expiries = Array.from({ length: count }, () => new Date(Date.now() + (minS + Math.random() * (maxS - minS)) * 1000));
  const rows = await seedLinks({ connections: server.context.queries.connections, sealer: connectionSealer(server.context.keyring), upstream }, expiries);
  return rows.map((row) => row.id);
}

async function rows(server: TestServer): Promise<ConnectionRow[]> {
  return server.context.database.db('integration_connections').where({ provider: 'counter' }).select('*');
}

/** Polls until every link was refreshed once (or the time is up). */
async function waitForRefreshes(server: TestServer, upstream: CountingUpstream, ids: string[], timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (ids.every((id) => upstream.refreshesOf(id) >= 1)) {
      const all = await rows(server);
      if (all.every((row) => row.last_refreshed_at)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What "exactly once, nothing lost" means, checked against the upstream's own books. */
async function expectExactlyOnce(server: TestServer, upstream: CountingUpstream, ids: string[]) {
  const sealer = connectionSealer(server.context.keyring);
  const byId = new Map((await rows(server)).map((row) => [row.id, row]));
  const counts = ids.map((id) => upstream.refreshesOf(id));
  expect(counts.filter((n) => n !== 1)).toEqual([]); // each refreshed once: no duplicate, none missed
  expect(upstream.reused).toBe(0); // never a rotated-away refresh token presented again
  for (const id of ids) {
    const row = byId.get(id)!;
    expect(row.status).toBe('active');
    // the stored refresh token is the newest one the upstream issued: no rotation lost
    expect(sealer.open(row, 'refresh_token', row.refresh_token_enc)).toBe(upstream.currentRefreshToken(id));
    expect(new Date(row.expires_at!).getTime()).toBeGreaterThan(Date.now() + 3000_000); // none left expired
  }
}

describe('scheduled refresh on one instance (in-process queue on PGlite, pg-boss on Postgres)', () => {
  let upstream: CountingUpstream;
  let server: TestServer;
  beforeAll(async () => {
    upstream = await startCountingUpstream();
    server = await startTestServer({ config: { providersFile: writeProvidersFile(upstream), integrations: { scheduledRefresh: true } } });
  }, 90_000);
  afterAll(async () => {
    await server?.destroy();
    await upstream?.close();
  });

  test('links expiring within a minute are refreshed once each, ahead of expiry, rotation kept', async () => {
    const ids = await seedConnections(server, upstream, 50, 5, 55);
    // Written behind the scheduler's back (as after a restart): the minute planner finds them; plan now.
    await server.context.integrations.planDue();
    await waitForRefreshes(server, upstream, ids, 60_000);
    await expectExactlyOnce(server, upstream, ids);
  }, 120_000);
});

describeWith('postgres', 'scheduled refresh on three instances over one Postgres and Redis', () => {
  let upstream: CountingUpstream;
  const instances: TestServer[] = [];
  beforeAll(async () => {
    upstream = await startCountingUpstream();
    const file = writeProvidersFile(upstream);
    // The first instance creates the schema; the others join it (same schema, same Redis prefix).
    const first = await startTestServer({ config: { providersFile: file, integrations: { scheduledRefresh: true } } });
    instances.push(first);
    const shared = { schema: first.context.config.database.schema };
    for (let i = 0; i < 2; i += 1) {
      instances.push(
        await startTestServer({
          config: {
            providersFile: file,
            database: shared,
            redis: { keyPrefix: first.context.config.redis.keyPrefix },
            integrations: { scheduledRefresh: true },
          },
        }),
      );
    }
  }, 120_000);
  afterAll(async () => {
    // The joined instances' own schema and key prefix were never used: destroy() closes their listeners (stop()
    // alone leaves them open, and Jest would not exit); the first one drops the shared schema.
    for (const instance of instances.slice(1)) await instance.destroy();
    await instances[0]?.destroy();
    await upstream?.close();
  });

  test('200 links expiring within a minute, the upstream rotating on every call: each refreshed once, none lost', async () => {
    const [a, b, c] = instances as [TestServer, TestServer, TestServer];
    const ids = await seedConnections(a, upstream, 200, 5, 55);
    // Every instance plans (as each does every minute): the queue holds one job per link, and whichever
    // instance runs it takes the link's lease.
    await Promise.all([a, b, c].map((instance) => instance.context.integrations.planDue()));
    // Meanwhile the platform asks for tokens on all three instances at once: the lease serializes them with
    // the scheduled refreshes, and nobody refreshes twice.
    const vend = async (instance: TestServer, i: number) => {
      const actor = { workspace_id: 'default', actor_type: 'api_key' as const, actor_id: `svc-${i}` };
      return instance.context.integrations.token(actor, 'counter', { purpose: 'default' }, { actor: 'test' });
    };
    const vended = await Promise.all([0, 1, 2, 3, 4].flatMap((i) => [vend(a, i), vend(b, i), vend(c, i)]));
    expect(vended.every((token) => token.expires_in > 3000)).toBe(true);
    await waitForRefreshes(a, upstream, ids, 90_000);
    await expectExactlyOnce(a, upstream, ids);
  }, 180_000);
});
