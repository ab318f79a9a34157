import { randomBytes } from 'node:crypto';
import { Browser } from '../support/browser.js';
import { loginAndConsent } from '../support/flow.js';
import type { TestServer } from '../support/server.js';

/** What Alexa's token client sends as User-Agent (Alexa account-linking docs, observed traffic). */
export const ALEXA_USER_AGENT = 'Apache-HttpClient/4.5.x (Java/1.8.0_152)';

export interface VoiceClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface TokenAnswer {
  status: number;
  body: Record<string, any>;
}

const basic = (client: VoiceClient) => `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;

/**
 * The two platforms' token requests as they send them: Alexa with HTTP Basic (its default "Client Authentication
 * Scheme"), client_id repeated in the body and its Java user agent; Google with the credentials in the form body.
 */
export async function platformTokenRequest(server: TestServer, platform: 'alexa' | 'google', client: VoiceClient, form: Record<string, string>, path = '/token'): Promise<TokenAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (platform === 'alexa') {
    headers.authorization = basic(client);
    headers['user-agent'] = ALEXA_USER_AGENT;
    body.set('client_id', client.client_id);
  } else {
    headers['user-agent'] = 'Google-Assistant-Account-Linking';
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  }
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/**
 * A user links their account from the Alexa app or Google Home: the platform opens the authorization URL (no PKCE,
 * no prompt=consent), the user signs in and allows on our pages, the platform redeems the code.
 */
export async function linkAccount(server: TestServer, platform: 'alexa' | 'google', client: VoiceClient, user: { email: string }, scope = 'openid profile email') {
  const redirectUri = client.redirect_uris[0]!;
  const state = randomBytes(16).toString('hex');
  const params: Record<string, string> =
    platform === 'alexa'
      ? { client_id: client.client_id, response_type: 'code', state, scope, redirect_uri: redirectUri }
      : { client_id: client.client_id, redirect_uri: redirectUri, state, scope, response_type: 'code', user_locale: 'en-US' };
  const callback = await loginAndConsent(new Browser(server.url), `${server.url}/auth?${new URLSearchParams(params)}`, user, redirectUri);
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
  const code = callback.searchParams.get('code')!;
  return platformTokenRequest(server, platform, client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri });
}

export const refresh = (server: TestServer, platform: 'alexa' | 'google', client: VoiceClient, refreshToken: string) =>
  platformTokenRequest(server, platform, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
