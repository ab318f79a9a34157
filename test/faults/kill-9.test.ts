import { randomBytes } from 'node:crypto';
import { api, clientCredentialsToken } from '../support/api.js';
import { authorize, introspect, PASSWORD, postForm } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { connectGoogle, remote, seedOverHttp, startFaultRig, vendGoogle, type FaultRig, type Seeded } from './setup.js';

/**
 * `kill -9` of the real server (`main.js`) in the middle of concurrent refreshes, then a restart on the same
 * Postgres and Redis. What the design promises (DESIGN.md, "Security rules"; src/oidc/adapter/adapter.ts):
 * - every token a client received is durable: the response is sent after the writes it reports;
 * - a refresh whose response was lost in the kill leaves the client holding the token it sent, which either was
 *   not consumed yet or was consumed moments ago, inside the reuse grace window: presenting it again is answered
 *   (not treated as reuse), so every chain goes on and no grant is revoked.
 * The grace window is 60 s here (10 s by default) so that a slow restart on a busy machine stays inside it.
 */
const GRACE_SECONDS = 60;
const CHAINS = 6;

interface Chain {
  user: { id: string; email: string };
  /** The refresh token the client holds: the last one it received. */
  refreshToken: string;
  accessToken: string;
  rotations: number;
  /** The `X-Request-Id` of every refresh the client got an answer to (each must have its audit event). */
  answeredRequestIds: string[];
  /** The kill cut a refresh of this chain short: the client never saw its answer. */
  lostInFlight: boolean;
}

describeWith(['initdb', 'redis-server'], 'kill -9 under load', () => {
  let rig: FaultRig;
  let seeded: Seeded;
  const chains: Chain[] = [];

  beforeAll(async () => {
    rig = await startFaultRig({ env: { REFRESH_TOKEN_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) }, upstream: true });
    seeded = await seedOverHttp(rig.app);
    const admin = api(remote(rig.app.url), seeded.adminToken);
    // One user per chain: each chain is its own grant, so reuse detection on one would not hide behind another.
    for (let i = 0; i < CHAINS; i += 1) {
      const email = `chain-${i}-${randomBytes(3).toString('hex')}@example.com`;
      const created = await admin.post('/admin/users', { email, password: PASSWORD });
      const user = { id: created.body.id as string, email };
      const { tokens } = await authorize(remote(rig.app.url), seeded.client, user, 'openid offline_access account integrations:token');
      chains.push({ user, refreshToken: tokens.refresh_token!, accessToken: tokens.access_token, rotations: 0, answeredRequestIds: [], lostInFlight: false });
    }
    // The first chain's user has a linked Google account too.
    await connectGoogle(rig, chains[0]!.accessToken);
  }, 120_000); // a build, a private Postgres and Redis, the server process
  afterAll(async () => {
    await rig?.destroy();
  });

  test('SIGKILL mid-refresh, restart: every chain refreshes on, every grant, client and linked account is intact', async () => {
    const server = remote(rig.app.url);
    const { client } = seeded;
    let killed = false;

    // Each chain refreshes in a loop, as fast as it can, until the server dies under it.
    const refreshLoop = async (chain: Chain) => {
      while (!killed) {
        let response;
        const requestId = `kill9-${chain.user.id}-${chain.rotations}`;
        try {
          response = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: chain.refreshToken }, client, { 'x-request-id': requestId });
        } catch {
          chain.lostInFlight = true; // the connection died with the server: no answer
          return;
        }
        if (response.status !== 200) throw new Error(`refresh before the kill: ${response.status} ${JSON.stringify(response.body)}`);
        chain.refreshToken = response.body.refresh_token;
        chain.accessToken = response.body.access_token;
        chain.rotations += 1;
        chain.answeredRequestIds.push(requestId);
      }
    };
    // Other traffic at the same time: client_credentials grants, introspections, token vending.
    const backgroundLoop = async () => {
      while (!killed) {
        try {
          await clientCredentialsToken(server, rig.app.admin, 'admin');
          await introspect(server, client, chains[0]!.accessToken);
          await vendGoogle(rig, chains[0]!.accessToken);
        } catch {
          return;
        }
      }
    };
    const loops = [...chains.map(refreshLoop), backgroundLoop(), backgroundLoop()];
    while (chains.reduce((sum, chain) => sum + chain.rotations, 0) < 5 * CHAINS) await new Promise((resolve) => setTimeout(resolve, 10));
    await rig.app.kill();
    killed = true;
    await Promise.all(loops);
    expect(chains.some((chain) => chain.lostInFlight)).toBe(true); // the kill did land mid-refresh

    await rig.app.start();

    for (const chain of chains) {
      // What the client last received is still valid...
      expect(await introspect(server, client, chain.accessToken)).toMatchObject({ active: true, sub: chain.user.id });
      // ...and the refresh token it holds works, whether its last refresh was answered or lost in the kill.
      const next = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: chain.refreshToken }, client);
      expect({ status: next.status, lostInFlight: chain.lostInFlight, body: next.status === 200 ? 'tokens' : next.body }).toEqual({ status: 200, lostInFlight: chain.lostInFlight, body: 'tokens' });
      // The chain goes on (no reuse detected, the grant was not revoked).
      const after = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: next.body.refresh_token }, client);
      expect(after.status).toBe(200);
      const grants = await api(server, after.body.access_token).get('/account/grants');
      expect(grants.status).toBe(200);
      expect(grants.body.items).toEqual([expect.objectContaining({ client_id: client.client_id })]);
    }
    // Every refresh a client got an answer to has its audit event: the provider answers only once the event is stored.
    const adminApi = api(server, await clientCredentialsToken(server, rig.app.admin, 'admin'));
    const answered = chains.flatMap((chain) => chain.answeredRequestIds);
    const audited = await Promise.all(
      answered.map(async (requestId) => {
        const events = await adminApi.get(`/admin/audit?request_id=${requestId}`);
        if (events.status !== 200) return { requestId, events: [`GET /admin/audit: ${events.status}`] };
        return { requestId, events: events.body.items.map((event: { type: string; outcome: string }) => `${event.type}:${event.outcome}`) };
      }),
    );
    expect(audited.filter((entry) => entry.events.join() !== 'OAuthTokenRefresh:success')).toEqual([]);
    // The linked account still vends its token.
    expect((await vendGoogle(rig, chains[0]!.accessToken)).status).toBe(200);
    // Clients still authenticate; the admin API sees every user.
    const adminToken = await clientCredentialsToken(server, rig.app.admin, 'admin');
    const users = await api(server, adminToken).get('/admin/users?limit=100');
    expect(users.body.items.map((u: { id: string }) => u.id)).toEqual(expect.arrayContaining(chains.map((chain) => chain.user.id)));
  }, 60_000);
});
