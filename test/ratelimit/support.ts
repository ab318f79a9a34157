import type { ConfigOverrides } from '../../src/config.js';
import { Browser, findForm } from '../support/browser.js';
import { pkcePair, REDIRECT_URI } from '../support/flow.js';
import type { TestServer } from '../support/server.js';

/**
 * Low limits for the rate-limit suites (a short lockout where a test waits for its end). `trustProxy` lets a test pick its client IP with X-Forwarded-For, so each
 * test has IP counters of its own on one server.
 */
export const lowLimits = (lockoutSeconds = 4): ConfigOverrides => ({
  trustProxy: true,
  rateLimit: {
    enabled: true,
    login: { maxFailures: 3, lockoutSeconds, ipMaxFailures: 5, ipWindowSeconds: 3600 },
    token: { perClient: 3, windowSeconds: 60, ipMaxFailures: 3, ipWindowSeconds: 60 },
    admin: { perClient: 4, windowSeconds: 60 },
  },
});

let ipCounter = 0;
/** A fresh documentation address (RFC 5737) per call. */
export const freshIp = () => `198.51.100.${(ipCounter += 1)}`;

/** A confidential client_credentials client; `post`: it authenticates with the form body instead of Basic. */
export async function machineClient(server: TestServer, scope = 'openid', post = false) {
  return server.context.clients.register({
    client_name: 'Rate-limited machine',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: post ? 'client_secret_post' : 'client_secret_basic',
    scope,
  }) as Promise<{ client_id: string; client_secret: string }>;
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** POST a form to an endpoint of the server, from `ip`. */
export async function post(server: TestServer, path: string, form: Record<string, string>, ip: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'x-forwarded-for': ip, ...headers },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: response.status, headers: response.headers, body };
}

/** A client_credentials request with Basic credentials (or form credentials for `client_secret_post` clients). */
export function clientCredentials(server: TestServer, client: { client_id: string; client_secret: string }, ip: string, inBody = false) {
  return inBody
    ? post(server, '/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret }, ip)
    : post(server, '/token', { grant_type: 'client_credentials' }, ip, { authorization: basic(client.client_id, client.client_secret) });
}

/** The login page of a fresh authorization request of `clientId`. */
export async function loginPageFor(server: TestServer, clientId: string) {
  const { challenge } = await pkcePair();
  const url = new URL(`${server.url}/auth`);
  url.search = new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }).toString();
  const browser = new Browser(server.url);
  const page = await browser.navigate(url.href, REDIRECT_URI);
  findForm(page.html!, '/login');
  return { browser, page };
}

/** Submits the login form from `ip`; the answer's page stays usable for the next attempt. */
export async function login(session: Awaited<ReturnType<typeof loginPageFor>>, email: string, password: string, ip: string) {
  const next = await session.browser.submit(session.page, '/login', { email, password }, REDIRECT_URI, { 'x-forwarded-for': ip });
  if (next.html?.includes('type="password"')) session.page = next;
  return next;
}

/** Retry-After as the integer the contract promises (RFC 9110 §10.2.3: delay-seconds). */
export function retryAfter(headers: Headers): number {
  const value = headers.get('retry-after') ?? '';
  if (!/^[0-9]+$/.test(value)) throw new Error(`Retry-After is not a number of seconds: "${value}"`);
  return Number(value);
}
