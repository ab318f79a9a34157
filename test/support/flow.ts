import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { Browser } from './browser.js';
import type { TestServer } from './server.js';

export const PASSWORD = 'correct horse battery staple';

export async function createUser(server: TestServer, email = `user-${randomBytes(4).toString('hex')}@example.com`) {
  const user = await server.context.accounts.create({ email, password: PASSWORD, name: 'Test User', workspaceId: 'default', emailVerified: true });
  return { id: user.id, email };
}

export const REDIRECT_URI = 'https://rp.example.com/callback';

export async function registerClient(server: TestServer, metadata: Record<string, unknown> = {}) {
  return server.context.clients.register({
    client_name: 'Test RP',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...metadata,
  });
}

/** openid-client configuration for a registered client (plain HTTP is allowed: the server is on loopback). */
export async function relyingParty(server: TestServer, client: { client_id: string; client_secret?: string }) {
  const auth = client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None();
  return oidc.discovery(new URL(server.url), client.client_id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

/** Logs in and consents through the real pages; returns the callback URL the browser was sent to. */
export async function loginAndConsent(browser: Browser, authorizationUrl: string, user: { email: string }, redirectUri = REDIRECT_URI): Promise<URL> {
  let page = await browser.navigate(authorizationUrl, redirectUri);
  if (page.html?.includes('action="/interaction/') && page.html.includes('type="password"')) {
    page = await browser.submit(page, '/login', { email: user.email, password: PASSWORD }, redirectUri);
  }
  if (page.html?.includes('/confirm')) {
    page = await browser.submit(page, '/confirm', {}, redirectUri);
  }
  if (!page.url.startsWith(redirectUri)) throw new Error(`flow did not reach the redirect URI: ${page.url}\n${page.html?.slice(0, 400)}`);
  return new URL(page.url);
}

export async function pkcePair() {
  const verifier = oidc.randomPKCECodeVerifier();
  return { verifier, challenge: await oidc.calculatePKCECodeChallenge(verifier) };
}

/** The whole browser part of an authorization-code + PKCE flow, returning the tokens. */
export async function authorize(server: TestServer, client: { client_id: string; client_secret?: string }, user: { email: string }, scope = 'openid email profile') {
  const rp = await relyingParty(server, client);
  const { verifier, challenge } = await pkcePair();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope, code_challenge: challenge, code_challenge_method: 'S256', state });
  const callback = await loginAndConsent(new Browser(server.url), url.href, user);
  const tokens = await oidc.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return { rp, tokens };
}

/** POST a form to a server endpoint with HTTP Basic client credentials; returns status and JSON. */
export async function postForm(
  server: TestServer,
  path: string,
  form: Record<string, string>,
  client?: { client_id: string; client_secret?: string },
  extraHeaders: Record<string, string> = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...extraHeaders };
  const body = new URLSearchParams(form);
  if (client?.client_secret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  else if (client) body.set('client_id', client.client_id);
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export const introspect = (server: TestServer, client: { client_id: string; client_secret?: string }, token: string) =>
  postForm(server, '/token/introspection', { token }, client).then((r) => r.body as { active: boolean; [k: string]: unknown });
