import * as oidc from 'openid-client';
import type { Browser } from '../support/browser.js';
import { pkcePair, relyingParty } from '../support/flow.js';
import type { TestServer } from '../support/server.js';

/** A relying party registered through the admin API, driven with openid-client. */
export interface App {
  name: string;
  client: { client_id: string; client_secret: string; [key: string]: unknown };
  rp: oidc.Configuration;
  redirectUri: string;
  scope: string;
}

export async function appFor(server: TestServer, name: string, client: App['client'], redirectUri: string, scope = 'openid email profile'): Promise<App> {
  return { name, client, rp: await relyingParty(server, client), redirectUri, scope };
}

/**
 * Starts an authorization-code + PKCE request of `app` in `browser` and follows it until a page (login or
 * consent form) or the app's redirect URI. `finish` redeems the code of the URL the browser ended on.
 */
export async function startAuthorization(app: App, browser: Browser, extra: Record<string, string> = {}) {
  const { verifier, challenge } = await pkcePair();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(app.rp, {
    redirect_uri: app.redirectUri,
    scope: app.scope,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const page = await browser.navigate(url.href, app.redirectUri);
  const finish = (callbackUrl: string, checks: { maxAge?: number } = {}) =>
    oidc.authorizationCodeGrant(app.rp, new URL(callbackUrl), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, ...checks });
  return { page, finish };
}

/** Which form a page shows: the login form, the consent form, or none (the browser went straight back to the app). */
export function formShown(page: { html?: string }): 'login' | 'consent' | 'none' | 'other' {
  if (page.html === undefined) return 'none';
  if (/<form\b[^>]*action="[^"]*\/interaction\/[^"]*\/login"/.test(page.html) && page.html.includes('type="password"')) return 'login';
  if (/<form\b[^>]*action="[^"]*\/interaction\/[^"]*\/confirm"/.test(page.html)) return 'consent';
  return 'other';
}
