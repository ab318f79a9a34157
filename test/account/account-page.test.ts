import * as oidc from 'openid-client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { Browser, findForm } from '../support/browser.js';
import { createUser, introspect, PASSWORD, pkcePair, registerClient, relyingParty, REDIRECT_URI } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { ACCOUNT_CONSOLE_CLIENT_ID } from '../../seeds/index.js';
import { launchChromium } from '../support/chromium.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

const NOWHERE = 'https://nowhere.invalid/';
const uniqueName = (base: string) => `${base} ${Math.random().toString(36).slice(2, 8)}`;

async function authorizationUrl(client: { client_id: string; client_secret?: string }, scope: string) {
  const rp = await relyingParty(server, client);
  const { verifier, challenge } = await pkcePair();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope, code_challenge: challenge, code_challenge_method: 'S256', state });
  return { rp, url, verifier, state };
}

/** Signs a cookie-keeping client in through /account (the account-console sign-in) and returns the account page. */
async function signInToAccountPage(browser: Browser, user: { email: string }) {
  const login = await browser.navigate('/account', NOWHERE);
  expect(login.url).toContain('/interaction/');
  const page = await browser.submit(login, '/login', { email: user.email, password: PASSWORD }, NOWHERE);
  expect(page.url).toBe(`${server.url}/account`);
  return page;
}

describe('consent for first-party and third-party clients', () => {
  test('a first_party client gets no consent page; a third-party client still does', async () => {
    const user = await createUser(server);
    const browser = new Browser(server.url);
    const ours = await registerClient(server, { client_name: 'Our app', first_party: true, scope: 'openid email' });
    const first = await authorizationUrl(ours, 'openid email');
    const login = await browser.navigate(first.url.href, REDIRECT_URI);
    const back = await browser.submit(login, '/login', { email: user.email, password: PASSWORD }, REDIRECT_URI);
    expect(back.html).toBeUndefined(); // straight back to the app, no consent page
    const tokens = await oidc.authorizationCodeGrant(first.rp, new URL(back.url), { pkceCodeVerifier: first.verifier, expectedState: first.state });
    expect(String(tokens.scope).split(' ').sort()).toEqual(['email', 'openid']);

    const theirs = await registerClient(server, { client_name: 'Their app', scope: 'openid email' });
    const third = await authorizationUrl(theirs, 'openid email');
    const consent = await browser.navigate(third.url.href, REDIRECT_URI); // same browser: already signed in
    expect(consent.html).toContain('Their app wants access');
    expect(findForm(consent.html!, '/confirm')).toBeTruthy();
  });

  test('first_party never implies the admin scope', async () => {
    const user = await createUser(server);
    const browser = new Browser(server.url);
    const ours = await registerClient(server, { first_party: true, scope: 'openid admin' });
    const signIn = await authorizationUrl(ours, 'openid');
    const login = await browser.navigate(signIn.url.href, REDIRECT_URI);
    await browser.submit(login, '/login', { email: user.email, password: PASSWORD }, REDIRECT_URI);
    // Signed in, a first-party request for admin is not granted silently: it reaches the interaction, which refuses it.
    const { url } = await authorizationUrl(ours, 'openid admin');
    const back = await browser.navigate(url.href, REDIRECT_URI);
    expect(new URL(back.url).searchParams.get('error')).toBe('invalid_scope');
  });
});

describe('the account page over plain HTTP', () => {
  test('signed out, /account goes through the account-console sign-in (no consent) and comes back', async () => {
    const anonymous = await fetch(`${server.url}/account`, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/account/signin');
    const signin = await fetch(`${server.url}/account/signin`, { redirect: 'manual' });
    const authorize = new URL(signin.headers.get('location')!);
    expect(authorize.searchParams.get('client_id')).toBe(ACCOUNT_CONSOLE_CLIENT_ID);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(signin.headers.getSetCookie().join()).toMatch(/account_signin=.*httponly/i);
    expect(signin.headers.getSetCookie().join()).toMatch(/samesite=lax/i);

    const user = await createUser(server);
    const browser = new Browser(server.url);
    const page = await signInToAccountPage(browser, user);
    expect(page.response!.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.response!.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.response!.headers.get('x-frame-options')).toBe('DENY');
    expect(page.response!.headers.get('cache-control')).toBe('no-store');
    expect(page.html).toContain(user.email);
    expect(page.html).toContain('No apps have access'); // the console's own grant is hidden
    expect((await server.context.grants.listForAccount(user.id)).map((g) => g.client_id)).toEqual([ACCOUNT_CONSOLE_CLIENT_ID]);
    expect(page.html).toContain('No linked accounts yet');

    // The provider's session cookie counts only with its signature (cookie keys): the bare id is not enough.
    const unsigned = new Browser(server.url);
    unsigned.cookies.set('_session', browser.cookies.get('_session')!);
    expect((await unsigned.request('/account')).status).toBe(303);
  });

  test('a callback without the state cookie, or with another state, is refused', async () => {
    const missing = await fetch(`${server.url}/account/callback?code=x&state=y`, { headers: { accept: 'text/html' } });
    expect(missing.status).toBe(400);
    const browser = new Browser(server.url);
    await browser.request('/account/signin');
    const other = await browser.request('/account/callback?code=x&state=not-the-one');
    expect(other.status).toBe(400);
  });

  test('forged revoke posts get 403 and revoke nothing; the real form revokes', async () => {
    const user = await createUser(server);
    const client = await registerClient(server, { client_name: uniqueName('Printer'), scope: 'openid offline_access' });
    const flow = await authorizationUrl(client, 'openid offline_access');
    const appBrowser = new Browser(server.url);
    const login = await appBrowser.navigate(flow.url.href, REDIRECT_URI);
    const consent = await appBrowser.submit(login, '/login', { email: user.email, password: PASSWORD }, REDIRECT_URI);
    const back = await appBrowser.submit(consent, '/confirm', {}, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(flow.rp, new URL(back.url), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });

    const browser = new Browser(server.url);
    const page = await signInToAccountPage(browser, user);
    const [grant] = (await server.context.grants.listForAccount(user.id)).filter((g) => g.client_id === client.client_id);
    const form = findForm(page.html!, `/account/grants/${grant!.grant_id}/revoke`);
    const post = (who: Browser, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      who.request(form.action, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

    expect((await post(browser, {})).status).toBe(403);
    expect((await post(browser, { csrf: 'forged' })).status).toBe(403);
    expect((await post(browser, form.hidden, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(new Browser(server.url), form.hidden)).status).toBe(403); // no session cookie
    const otherSession = await signInToAccountPage(new Browser(server.url), user);
    const otherToken = findForm(otherSession.html!, form.action).hidden.csrf!;
    expect(otherToken).not.toBe(form.hidden.csrf);
    expect((await post(browser, { csrf: otherToken })).status).toBe(403); // tokens are bound to their session
    expect(await introspect(server, client, tokens.access_token)).toMatchObject({ active: true });

    const revoked = await post(browser, form.hidden, { origin: server.url });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe('/account?revoked=1');
    expect(await introspect(server, client, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(server, client, tokens.refresh_token!)).toEqual({ active: false });
    expect((await post(browser, form.hidden)).status).toBe(404); // already gone
  });
});

describeWith('chromium', 'the account page in a real browser (chromium)', () => {
  let chrome: Chromium;
  beforeAll(async () => {
    chrome = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
  });

  /** Stops the browser at the client's redirect URI (nothing listens there) and hands back that URL. */
  async function captureCallback(page: Page): Promise<() => URL> {
    let captured: URL | undefined;
    await page.route(`${REDIRECT_URI}**`, (route) => {
      captured = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback captured' });
    });
    return () => {
      if (!captured) throw new Error('the browser never reached the redirect URI');
      return captured;
    };
  }

  test('authorize an app, see it on /account, revoke it there; its tokens are inactive', async () => {
    const user = await createUser(server);
    const name = uniqueName('Photo printer');
    const client = await registerClient(server, { client_name: name, scope: 'openid email offline_access' });
    const flow = await authorizationUrl(client, 'openid email offline_access');
    const context = await chrome.newContext();
    try {
      const page = await context.newPage();
      const callback = await captureCallback(page);
      await page.goto(flow.url.href);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL(`${REDIRECT_URI}**`);
      const tokens = await oidc.authorizationCodeGrant(flow.rp, callback(), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
      expect(tokens.refresh_token).toBeTruthy();

      const response = await page.goto(`${server.url}/account`); // same browser: already signed in
      expect(page.url()).toBe(`${server.url}/account`);
      expect(response!.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response!.headers()['x-frame-options']).toBe('DENY');
      const app = page.getByRole('listitem').filter({ hasText: name });
      expect(await app.count()).toBe(1);
      expect(await app.textContent()).toMatch(/Authorized .* · Last used /);

      await app.getByRole('button', { name: /Revoke/ }).click();
      await page.waitForURL(`${server.url}/account?revoked=1`);
      expect(await page.getByRole('status').textContent()).toContain('Access removed');
      expect(await page.getByRole('listitem').filter({ hasText: name }).count()).toBe(0);
      expect(await introspect(server, client, tokens.access_token)).toEqual({ active: false });
      expect(await introspect(server, client, tokens.refresh_token!)).toEqual({ active: false });
    } finally {
      await context.close();
    }
  });

  test('signed out, /account signs in without a consent page and lands back on /account; sign out works', async () => {
    const user = await createUser(server);
    const context = await chrome.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/account`);
      expect(page.url()).toContain('/interaction/');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/account`);
      expect(await page.getByRole('heading', { name: 'Apps with access' }).count()).toBe(1);
      expect(await page.getByText('No apps have access').count()).toBe(1);

      await page.getByRole('link', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      await page.goto(`${server.url}/account`);
      expect(page.url()).toContain('/interaction/'); // signed out: back to the login page
    } finally {
      await context.close();
    }
  });
});
