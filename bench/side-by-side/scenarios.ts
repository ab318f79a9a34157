import { REDIRECT_URI } from '../targets.js';
import { runFlows, runLoad, type ServerChild } from './children.js';
import type { LoadResult } from './load-spec.js';
import type { VendingFixture } from './protocol.js';

export interface Settings {
  connections: number;
  durationSeconds: number;
}

/** One measured phase on one target: prepares its fixtures, checks one request by hand, then loads. */
export interface Scenario {
  name: string;
  /** False: ours only (the bare library has no equivalent). */
  bare: boolean;
  /** What counts as met: a minimum ours/bare req/s ratio and/or a p99 bound (ms). */
  target: { minRatio?: number; maxP99Ms?: number };
  /** Whole flows, not requests: per-second figures get a decimal. */
  flows?: boolean;
  /** Returns a runner for one phase (warm-up or measurement); fixtures are made per target, once. */
  prepare(server: ServerChild): Promise<(settings: Settings) => Promise<LoadResult>>;
}

const basic = (server: ServerChild) => `Basic ${Buffer.from(`${server.client.client_id}:${server.client.client_secret}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function expectOk(response: Response, what: string, check: (body: Record<string, unknown>) => boolean): Promise<void> {
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || !check(body)) throw new Error(`${what}: ${response.status} ${JSON.stringify(body)}`);
}

const post = (server: ServerChild, path: string, headers: Record<string, string>, body: string) => fetch(`${server.url}${path}`, { method: 'POST', headers, body });

const clientCredentials: Scenario = {
  name: 'client_credentials',
  bare: true,
  target: { minRatio: 0.85, maxP99Ms: 50 },
  async prepare(server) {
    const headers = { ...form, authorization: basic(server) };
    const body = 'grant_type=client_credentials';
    await expectOk(await post(server, '/token', headers, body), 'client_credentials', (b) => typeof b.access_token === 'string');
    return (s) => runLoad({ url: `${server.url}/token`, method: 'POST', headers, body, connections: s.connections, durationSeconds: s.durationSeconds });
  },
};

/** Access tokens as the token endpoint issues them: one refresh per minted refresh token (a few at a time). */
async function issueAccessTokens(server: ServerChild, count: number): Promise<string[]> {
  const refreshTokens = await server.call<string[]>({ op: 'mint', count });
  const headers = { ...form, authorization: basic(server) };
  const out: string[] = [];
  const worker = async () => {
    for (let token = refreshTokens.pop(); token; token = refreshTokens.pop()) {
      const response = await post(server, '/token', headers, `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`);
      const body = (await response.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`refresh for an access token failed: ${response.status} ${JSON.stringify(body)}`);
      out.push(body.access_token);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** Valid opaque user access tokens (each of its own grant, as a code exchange leaves them), introspected in turn. */
const introspection: Scenario = {
  name: 'introspection',
  bare: true,
  target: { minRatio: 0.85, maxP99Ms: 50 },
  async prepare(server) {
    const tokens = await issueAccessTokens(server, 500);
    const headers = { ...form, authorization: basic(server) };
    const bodies = tokens.map((token) => `token=${encodeURIComponent(token)}`);
    await expectOk(await post(server, '/token/introspection', headers, bodies[0]!), 'introspection', (b) => b.active === true);
    return (s) => runLoad({ url: `${server.url}/token/introspection`, method: 'POST', headers, bodies, connections: s.connections, durationSeconds: s.durationSeconds });
  },
};

/** Rotating refresh on both sides: each connection keeps refreshing with the newest token it got (chains). */
const refresh: Scenario = {
  name: 'refresh_token (rotating)',
  bare: true,
  target: { maxP99Ms: 50 },
  async prepare(server) {
    const headers = { ...form, authorization: basic(server), 'user-agent': 'Apache-HttpClient/4.5.x (Java/1.8.0_152)' };
    const [probe] = await server.call<string[]>({ op: 'mint', count: 1 });
    await expectOk(await post(server, '/token', headers, `grant_type=refresh_token&refresh_token=${probe}`), 'refresh', (b) => typeof b.refresh_token === 'string');
    return async (s) => {
      // Twice the connections: a chain broken by a failed request does not starve the others.
      const chain = await server.call<string[]>({ op: 'mint', count: s.connections * 2 });
      return runLoad({ url: `${server.url}/token`, method: 'POST', headers, chain, connections: s.connections, durationSeconds: s.durationSeconds });
    };
  },
};

const authorizationCode: Scenario = {
  name: 'authorization_code + PKCE (flows)',
  bare: true,
  flows: true,
  // Measured in flows/s; the brief's p99 bound is for the token scenarios (the code→token step is in the notes).
  target: {},
  async prepare(server) {
    const spec = { origin: server.url, client: server.client, user: server.user, redirectUri: REDIRECT_URI, scope: 'openid' };
    const probe = await runFlows({ ...spec, virtualUsers: 1, durationSeconds: 0.001 });
    if (probe.non2xx || probe.requests < 1) throw new Error(`authorization_code flow does not complete on ${server.name}`);
    return (s) => runFlows({ ...spec, virtualUsers: s.connections, durationSeconds: s.durationSeconds });
  },
};

/** POST /integrations/:provider/token for pre-seeded, fresh connections (no upstream call). */
const vending: Scenario = {
  name: 'integrations token vending',
  bare: false,
  target: { maxP99Ms: 50 },
  async prepare(server) {
    const fixture = await server.call<VendingFixture>({ op: 'seed-vending', count: 100 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${fixture.token}` };
    const bodies = fixture.purposes.map((purpose) => JSON.stringify({ purpose }));
    const path = `/integrations/${fixture.provider}/token`;
    await expectOk(await post(server, path, headers, bodies[0]!), 'token vending', (b) => typeof b.access_token === 'string');
    return (s) => runLoad({ url: `${server.url}${path}`, method: 'POST', headers, bodies, connections: s.connections, durationSeconds: s.durationSeconds });
  },
};

export const SCENARIOS: Record<string, Scenario> = {
  client_credentials: clientCredentials,
  introspection,
  refresh,
  authorization_code: authorizationCode,
  vending,
};
