import { startTestServer, type TestServer } from '../support/server.js';
import { Browser } from '../support/browser.js';
import { createUser, loginAndConsent, pkcePair, registerClient, REDIRECT_URI } from '../support/flow.js';

/**
 * oidc-provider's /session/end/success is where a logout confirmation ends, but anyone can open it, with any
 * `client_id`. The page says what the confirmation did, and claims no sign-out when none led there
 * (src/oidc/logout-outcome.ts, src/oidc/pages.ts).
 */
const NOWHERE = 'https://nowhere.invalid/';

let server: TestServer;
let client: { client_id: string };
beforeAll(async () => {
  server = await startTestServer();
  client = await registerClient(server, { client_name: 'Logout RP', scope: 'openid', first_party: true, token_endpoint_auth_method: 'none' });
});
afterAll(async () => server?.destroy());

const successUrl = () => `/session/end/success?client_id=${client.client_id}`;
const heading = (html = '') => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];
const text = (html = '') => html.replace(/<style>[\s\S]*<\/style>/, '');

async function signedInBrowser(): Promise<Browser> {
  const browser = new Browser(server.url);
  const { challenge } = await pkcePair();
  const query = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' });
  await loginAndConsent(browser, `${server.url}/auth?${query}`, await createUser(server));
  return browser;
}

async function confirmLogout(browser: Browser, fields: Record<string, string>) {
  const confirm = await browser.navigate(`/session/end?client_id=${client.client_id}`, NOWHERE);
  expect(heading(confirm.html)).toBe('Sign out?');
  return browser.submit(confirm, '/session/end/confirm', fields, NOWHERE);
}

test('opened directly without a session, it says the user is not signed in, not that a sign-out happened', async () => {
  const page = await new Browser(server.url).navigate(successUrl(), NOWHERE);
  expect(page.response?.status).toBe(200);
  expect(heading(page.html)).toBe('You are not signed in');
  expect(text(page.html)).not.toMatch(/signed out/i);
});

test('opened directly while signed in, it does not claim the app was signed out', async () => {
  const browser = await signedInBrowser();
  const page = await browser.navigate(successUrl(), NOWHERE);
  expect(heading(page.html)).toBe('You are still signed in');
  expect(text(page.html)).toContain('Nothing was changed.');
  expect(text(page.html)).not.toMatch(/signed out/i);
  // A hand-made outcome cookie without its signature is ignored.
  browser.cookies.set('logout_outcome', `client:${client.client_id}`);
  expect(text((await browser.navigate(successUrl(), NOWHERE)).html)).not.toMatch(/signed out/i);
});

test('after "No" for an app it names the app once; after "Yes" it says signed out', async () => {
  const browser = await signedInBrowser();
  const declined = await confirmLogout(browser, {});
  expect(new URL(declined.url).pathname).toBe('/session/end/success');
  expect(heading(declined.html)).toBe('You are still signed in');
  expect(text(declined.html)).toContain('You were signed out of Logout RP only.');
  // The outcome is one-shot: opening the page again is a direct visit.
  expect(text((await browser.navigate(successUrl(), NOWHERE)).html)).toContain('Nothing was changed.');

  const ended = await confirmLogout(browser, { logout: 'yes' });
  expect(heading(ended.html)).toBe('You are signed out');
  expect(heading((await browser.navigate('/session/end/success', NOWHERE)).html)).toBe('You are not signed in');
});
