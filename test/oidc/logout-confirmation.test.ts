import type { Browser as Chromium, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUser, PASSWORD, pkcePair, registerClient, REDIRECT_URI } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { launchChromium } from '../support/chromium.js';

/**
 * OpenID Connect RP-Initiated Logout 1.0 §2: without an `id_token_hint` the OP asks the signed-in user to confirm.
 * In a real browser (scripts on), GET /session/end shows the question and ends nothing until "Yes" is clicked;
 * "No" keeps the session and says so.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.destroy());

describeWith('chromium', 'logout confirmation in a real browser (chromium)', () => {
  let chrome: Chromium;
  let context: BrowserContext;
  let page: Page;
  let client: { client_id: string };
  /** The last URL the browser was sent to at the client's redirect URI. */
  let callback: URL | undefined;

  beforeAll(async () => {
    chrome = await launchChromium();
  }, 60_000);
  afterAll(async () => chrome?.close());

  beforeEach(async () => {
    client = await registerClient(server, { scope: 'openid', first_party: true, token_endpoint_auth_method: 'none' });
    context = await chrome.newContext();
    page = await context.newPage();
    callback = undefined;
    await page.route(`${REDIRECT_URI}**`, (route) => {
      callback = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback captured' });
    });
    const user = await createUser(server);
    await page.goto(await authorizationUrl());
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${REDIRECT_URI}**`);
    expect((callback as URL | undefined)?.searchParams.get('code')).toBeTruthy();
  });
  afterEach(async () => context?.close());

  async function authorizationUrl(extra: Record<string, string> = {}): Promise<string> {
    const { challenge } = await pkcePair();
    const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
    return `${server.url}/auth?${query}`;
  }

  /** prompt=none with the browser's cookies: a code while the provider session lives, `login_required` once it is gone. */
  async function sessionOutcome(): Promise<string> {
    const cookie = (await context.cookies(server.url)).map(({ name, value }) => `${name}=${value}`).join('; ');
    let response = await fetch(await authorizationUrl({ prompt: 'none' }), { headers: { cookie }, redirect: 'manual' });
    // /auth → /auth/:uid (the interaction resolves itself for prompt=none) → the redirect URI.
    for (let hops = 0; hops < 5 && !response.headers.get('location')!.startsWith(REDIRECT_URI); hops += 1) {
      response = await fetch(new URL(response.headers.get('location')!, server.url), { headers: { cookie }, redirect: 'manual' });
    }
    const location = new URL(response.headers.get('location')!);
    return location.searchParams.get('code') ? 'signed in' : `error: ${location.searchParams.get('error')}`;
  }

  async function openLogoutPage(): Promise<void> {
    const response = await page.goto(`${server.url}/session/end`);
    expect(response!.headers()['content-security-policy']).toContain("default-src 'none'"); // no script can run
    await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
    // Give a self-submitting page every chance to submit: scripts run, the network settles, time passes.
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1_000);
    expect(page.url()).toBe(`${server.url}/session/end`);
    expect(await page.getByRole('heading', { name: 'Sign out?' }).count()).toBe(1);
  }

  test('GET /session/end without id_token_hint waits for the user; the session lives until "Yes" is clicked', async () => {
    await openLogoutPage();
    expect(await sessionOutcome()).toBe('signed in');

    await openLogoutPage();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    expect(await sessionOutcome()).toBe('error: login_required');
  });

  test('"No, stay signed in" keeps the session and does not claim a sign-out', async () => {
    await openLogoutPage();
    await page.getByRole('button', { name: 'No, stay signed in' }).click();
    await page.waitForURL(`${server.url}/session/end/success**`);
    expect(await page.getByRole('heading', { name: 'You are signed out' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'You are still signed in' }).count()).toBe(1);
    expect(await sessionOutcome()).toBe('signed in');
  });
});
