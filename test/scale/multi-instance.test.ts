import { Browser } from '../support/browser.js';
import { createUser, pkcePair, REDIRECT_URI, registerClient } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { crossingFlow, startPair, type Pair } from './two-instances.js';

/**
 * Stateless instances over one Postgres and one Redis (DESIGN.md, "Scaling out"): keys, sessions, interactions,
 * tokens and rate limits are shared, so a flow that starts on one instance finishes on another.
 */
describeWith(['postgres', 'redis'], 'two instances behind a balancer', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair({ rateLimit: { login: { maxFailures: 3 } } });
  }, 60_000);
  afterAll(async () => {
    await pair?.destroy();
  });

  test('authorization on A, login and consent on B, code on A, refresh on B, introspection and revocation across', async () => {
    await crossingFlow(pair);
  });

  test('failed logins are counted across instances: the lockout holds on both', async () => {
    const { lb, a } = pair;
    const user = await createUser(a);
    const client = await registerClient(a);
    const { challenge } = await pkcePair();
    const browser = new Browser(lb.url);
    lb.use(0);
    const query = new URLSearchParams({ client_id: client.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' });
    let page = await browser.navigate(`/auth?${query}`, REDIRECT_URI);
    // Three wrong passwords (the limit here), alternating instances: the third locks the login on both.
    const statuses: number[] = [];
    for (const instance of [0, 1, 0]) {
      lb.use(instance);
      page = await browser.submit(page, '/login', { email: user.email, password: 'wrong password' }, REDIRECT_URI);
      statuses.push(page.response!.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
    for (const instance of [1, 0]) {
      lb.use(instance);
      const locked = await browser.submit(page, '/login', { email: user.email, password: 'correct horse battery staple' }, REDIRECT_URI);
      expect(locked.response?.status).toBe(429);
    }
  });
});
