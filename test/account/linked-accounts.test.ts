import { randomUUID } from 'node:crypto';
import type { Browser as Chromium } from 'playwright-core';
import { connectionSealer } from '../../src/integrations/sealing.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import { Browser, findForm } from '../support/browser.js';
import { PASSWORD } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from '../integrations/setup.js';
import { launchChromium } from '../support/chromium.js';

/**
 * The account page's "Linked accounts": the signed-in user's own connections (actor `user:<id>`), with status and
 * a Disconnect form each. Connections are made for real against the local upstream (test/integrations/setup.ts);
 * `integrationUser` creates the user with a password, so the same user signs in to /account.
 */

let world: ConsumerWorld;
beforeAll(async () => {
  world = await startConsumerWorld();
}, 60_000); // a server (migrations) and an upstream: slow on a busy machine
afterAll(async () => world?.close());

const NOWHERE = 'https://nowhere.invalid/';
const BOB = { sub: 'upstream-user-bob', email: 'bob@upstream.test' };

/** Signs a cookie-keeping client in through /account and returns the account page. */
async function signInToAccountPage(browser: Browser, user: { email: string }) {
  const login = await browser.navigate('/account', NOWHERE);
  expect(login.url).toContain('/interaction/');
  const page = await browser.submit(login, '/login', { email: user.email, password: PASSWORD }, NOWHERE);
  expect(page.url).toBe(`${world.server.url}/account`);
  return page;
}

interface LinkedEntry {
  label: string;
  text: string;
  status: string;
  action?: string;
}

/** The entries of the "Linked accounts" section, read from the page's HTML. */
function linkedEntries(html: string): LinkedEntry[] {
  const section = /<section aria-labelledby="linked-heading">([\s\S]*?)<\/section>/.exec(html)?.[1];
  if (section === undefined) throw new Error(`no Linked accounts section in:\n${html.slice(0, 500)}`);
  return [...section.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item]) => ({
    label: /<h3>([\s\S]*?)<\/h3>/.exec(item!)![1]!.trim(),
    text: item!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim(),
    status: /<strong class="status-[^"]*">([\s\S]*?)<\/strong>/.exec(item!)?.[1]?.trim() ?? '',
    action: /<form[^>]*action="([^"]*)"/.exec(item!)?.[1],
  }));
}

/** A user with a google (default) and a microsoft (booking) connection, and the page's view of them. */
async function userWithTwoConnections() {
  const owner = await integrationUser(world.server);
  const google = await connect(world, owner.call, 'google');
  const microsoft = await connect(world, owner.call, 'microsoft', { purpose: 'booking' });
  expect(google.status).toBe(200);
  expect(microsoft.status).toBe(200);
  return { ...owner, google: google.body as { id: string }, microsoft: microsoft.body as { id: string } };
}

/** Another user, linked to a different upstream account (so neither its id nor its email may show up). */
async function otherUsersConnection() {
  const other = await integrationUser(world.server);
  const started = await other.call.post('/integrations/google/authorize', {});
  expect(started.status).toBe(200);
  const callback = await world.upstream.completeLogin(started.body.authorization_url, { account: BOB });
  const response = await fetch(callback, { redirect: 'manual', headers: { accept: 'application/json' } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { id: string; identity: { email: string } };
  expect(body.identity.email).toBe(BOB.email);
  return { ...other, connection: body };
}

const statusOf = async (call: Awaited<ReturnType<typeof integrationUser>>['call'], provider: string, purpose = 'default') => {
  const response = await call.get(`/integrations/${provider}/status?purpose=${purpose}`);
  expect(response.status).toBe(200);
  return response.body.status as string;
};

async function storedRefreshToken(id: string): Promise<string | undefined> {
  const row = (await world.server.context.queries.connections.findById(id)) as ConnectionRow;
  return connectionSealer(world.server.context.keyring).open(row, 'refresh_token', row.refresh_token_enc);
}

describe('Linked accounts on /account over plain HTTP', () => {
  test('lists the user\'s own connections with provider, identity and status; not another user\'s', async () => {
    const other = await otherUsersConnection();
    const owner = await userWithTwoConnections();

    const page = await signInToAccountPage(new Browser(world.server.url), owner.user);
    expect(page.html).toContain('<h2 id="linked-heading">Linked accounts</h2>');
    expect(page.html).not.toContain('No linked accounts yet');
    const entries = linkedEntries(page.html!);
    expect(entries.map((e) => e.label).sort()).toEqual(['google', 'microsoft (booking)']);
    for (const entry of entries) {
      expect(entry.text).toContain('alice@upstream.test');
      expect(entry.status).toBe('Connected');
      expect(entry.text).toMatch(/Connected .* UTC/); // connected_at
    }
    const byLabel = Object.fromEntries(entries.map((e) => [e.label, e]));
    expect(byLabel.google!.action).toBe(`/account/connections/${owner.google.id}/disconnect`);
    expect(byLabel['microsoft (booking)']!.action).toBe(`/account/connections/${owner.microsoft.id}/disconnect`);
    expect(page.html).toContain('aria-label="Disconnect google"');
    expect(page.html).toContain('aria-label="Disconnect microsoft (booking)"');

    // The other user's connection is theirs alone: neither its id nor its upstream identity is on this page.
    expect(page.html).not.toContain(other.connection.id);
    expect(page.html).not.toContain(BOB.email);
    // …and on their own page they see just that one.
    const theirs = await signInToAccountPage(new Browser(world.server.url), other.user);
    expect(linkedEntries(theirs.html!)).toEqual([
      expect.objectContaining({ label: 'google', status: 'Connected', action: `/account/connections/${other.connection.id}/disconnect` }),
    ]);
    expect(theirs.html).toContain(BOB.email);
    expect(theirs.html).not.toContain(owner.google.id);
  });

  test('a user without connections sees the empty state', async () => {
    const { user } = await integrationUser(world.server);
    const page = await signInToAccountPage(new Browser(world.server.url), user);
    expect(linkedEntries(page.html!)).toEqual([]);
    expect(page.html).toContain('No linked accounts yet');
    expect(page.html).not.toContain('/account/connections/');
  });

  test('forged disconnect posts: no CSRF token / foreign Origin → 403; another user\'s or a non-uuid id → 404; nothing changes', async () => {
    const other = await otherUsersConnection();
    const owner = await userWithTwoConnections();
    const vended = await owner.call.post('/integrations/google/token', {});
    expect(vended.status).toBe(200);

    const browser = new Browser(world.server.url);
    const page = await signInToAccountPage(browser, owner.user);
    const form = findForm(page.html!, `/account/connections/${owner.google.id}/disconnect`);
    expect(form.hidden.csrf).toBeTruthy();
    const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      browser.request(path, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    const sameOrigin = { origin: world.server.url };

    expect((await post(form.action, {}, sameOrigin)).status).toBe(403); // no CSRF token
    expect((await post(form.action, { csrf: 'forged' }, sameOrigin)).status).toBe(403);
    expect((await post(form.action, form.hidden, { origin: 'https://evil.example' })).status).toBe(403); // foreign Origin
    expect((await new Browser(world.server.url).request(form.action, { method: 'POST', body: new URLSearchParams(form.hidden), headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin } })).status).toBe(403); // no session
    expect((await post(`/account/connections/${other.connection.id}/disconnect`, form.hidden, sameOrigin)).status).toBe(404); // another user's
    expect((await post(`/account/connections/${randomUUID()}/disconnect`, form.hidden, sameOrigin)).status).toBe(404); // unknown
    expect((await post('/account/connections/not-a-uuid/disconnect', form.hidden, sameOrigin)).status).toBe(404); // not a uuid
    expect((await post(`/account/connections/${encodeURIComponent("' OR 1=1 --")}/disconnect`, form.hidden, sameOrigin)).status).toBe(404);

    // Nothing changed: both of the owner's connections and the other user's are active, the vended token too.
    expect(await statusOf(owner.call, 'google')).toBe('active');
    expect(await statusOf(owner.call, 'microsoft', 'booking')).toBe('active');
    expect(await statusOf(other.call, 'google')).toBe('active');
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(true);
    const after = await browser.navigate('/account', NOWHERE);
    expect(linkedEntries(after.html!).map((e) => e.status)).toEqual(['Connected', 'Connected']);
  });
});

describeWith('chromium', 'Linked accounts in a real browser (chromium)', () => {
  let chrome: Chromium;
  beforeAll(async () => {
    chrome = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await chrome?.close();
  });

  test('sign in, see both linked accounts, disconnect google: revoked here and at the upstream', async () => {
    const other = await otherUsersConnection();
    const owner = await userWithTwoConnections();
    const vended = await owner.call.post('/integrations/google/token', {});
    expect(vended.status).toBe(200);
    const refreshToken = await storedRefreshToken(owner.google.id);
    expect(refreshToken).toBeTruthy();
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(true);
    expect((await world.upstream.introspect(refreshToken!)).active).toBe(true);

    const context = await chrome.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${world.server.url}/account`);
      expect(page.url()).toContain('/interaction/');
      await page.getByLabel('Email').fill(owner.user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${world.server.url}/account`);

      const section = page.getByRole('region', { name: 'Linked accounts' });
      const entry = (label: string) => section.getByRole('listitem').filter({ has: page.getByRole('heading', { name: label, exact: true }) });
      expect(await section.getByRole('listitem').count()).toBe(2);
      for (const label of ['google', 'microsoft (booking)']) {
        expect(await entry(label).count()).toBe(1);
        expect(await entry(label).textContent()).toContain('alice@upstream.test');
        expect(await entry(label).locator('strong').textContent()).toBe('Connected');
        expect(await entry(label).getByRole('button', { name: 'Disconnect' }).count()).toBe(1);
      }
      expect(await page.getByText(BOB.email).count()).toBe(0);

      const revocations = world.upstream.counts.revocation;
      await entry('google').getByRole('button', { name: 'Disconnect' }).click();
      await page.waitForURL(`${world.server.url}/account?disconnected=1`);
      expect(await page.getByRole('status').textContent()).toContain('Account disconnected');
      expect(await entry('google').count()).toBe(1);
      expect(await entry('google').locator('strong').textContent()).toBe('Disconnected');
      expect(await entry('google').getByRole('button').count()).toBe(0);
      expect(await entry('microsoft (booking)').locator('strong').textContent()).toBe('Connected');
      expect(await entry('microsoft (booking)').getByRole('button', { name: 'Disconnect' }).count()).toBe(1);
      expect(world.upstream.counts.revocation).toBeGreaterThan(revocations);
    } finally {
      await context.close();
    }

    // The API agrees: google revoked (tokens gone, dead at the upstream); microsoft and the other user's untouched.
    expect(await statusOf(owner.call, 'google')).toBe('revoked');
    expect(await world.server.context.queries.connections.findById(owner.google.id)).toMatchObject({ status: 'revoked', access_token_enc: null, refresh_token_enc: null });
    expect((await world.upstream.introspect(vended.body.access_token)).active).toBe(false);
    expect((await world.upstream.introspect(refreshToken!)).active).toBe(false);
    const vendAfter = await owner.call.post('/integrations/google/token', {});
    expect(vendAfter.status).toBe(409);
    expect(await statusOf(owner.call, 'microsoft', 'booking')).toBe('active');
    expect(await statusOf(other.call, 'google')).toBe('active');
    const audit = (await world.server.context.queries.audit.list({ limit: 1000 })).filter((e) => e.details.connection_id === owner.google.id);
    expect(audit.map((e) => `${e.type}:${e.outcome}`)).toContain('IntegrationDisconnect:success');
  });
});
