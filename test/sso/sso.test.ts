import { jest } from '@jest/globals';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerIntrospector } from '../support/api.js';
import { Browser } from '../support/browser.js';
import { introspect, loginAndConsent, PASSWORD, postForm } from '../support/flow.js';
import { platformTokenRequest, type VoiceClient } from '../voice/platforms.js';
import { appFor, formShown, startAuthorization, type App } from './apps.js';
import { startLogoutReceiver, type LogoutReceiver } from './receiver.js';
import type { Logger } from 'winston';
import { outboundFetch } from '../../src/oidc/outbound-fetch.js';
import { DestinationRefused, outboundPolicy, type OutboundPolicySettings } from '../../src/net/outbound-policy.js';

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let server: TestServer;
let admin: ReturnType<typeof api>;
let introspector: { client_id: string; client_secret?: string };
let receivers: { a: LogoutReceiver; b: LogoutReceiver };
let appA: App;
let appB: App;
let thirdParty: App;
let voice: VoiceClient;

/** Two of our own apps (first_party, back-channel logout), as an admin registers them. */
async function registerFirstParty(name: string, host: string, roleMap: Record<string, string>, receiver: LogoutReceiver): Promise<App> {
  const redirectUri = `https://${host}/callback`;
  const response = await admin.post('/admin/clients', {
    client_name: name,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [`https://${host}/signed-out`],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email offline_access',
    first_party: true,
    role_map: roleMap,
    backchannel_logout_uri: receiver.url,
    backchannel_logout_session_required: true,
  });
  expect(response.status).toBe(201);
  expect(response.body).toMatchObject({ first_party: true, role_map: roleMap, backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true });
  return appFor(server, name, response.body, redirectUri);
}

/** A user with roles, created and changed through the admin API. */
async function createUserWithRoles(roles: string[]) {
  const email = `sso-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const created = await admin.post('/admin/users', { email, password: PASSWORD, name: 'SSO User', email_verified: true });
  expect(created.status).toBe(201);
  const patched = await admin.patch(`/admin/users/${created.body.id}`, { roles });
  expect(patched.status).toBe(200);
  return { id: created.body.id as string, email };
}

/** Logs in through app A in a new browser: the login page, then straight back to A (no consent page). */
async function signInThroughA(user: { email: string }) {
  const browser = new Browser(server.url);
  const flow = await startAuthorization(appA, browser);
  expect(formShown(flow.page)).toBe('login');
  const back = await browser.submit(flow.page, '/login', { email: user.email, password: PASSWORD }, appA.redirectUri);
  expect(formShown(back)).toBe('none');
  return { browser, tokens: await flow.finish(back.url) };
}

/** App `app` in an already signed-in browser: no login, no consent, straight back with a code. */
async function silentSignIn(app: App, browser: Browser) {
  const flow = await startAuthorization(app, browser);
  expect(formShown(flow.page)).toBe('none');
  expect(flow.page.url.startsWith(app.redirectUri)).toBe(true);
  return flow.finish(flow.page.url);
}

beforeAll(async () => {
  server = await startTestServer();
  admin = api(server, await adminToken(server));
  introspector = await registerIntrospector(server);
  receivers = { a: await startLogoutReceiver(), b: await startLogoutReceiver() };
  appA = await registerFirstParty('Main app', 'app-a.example.com', {}, receivers.a);
  appB = await registerFirstParty('Portal', 'app-b.example.com', { admin: 'owner' }, receivers.b);
  const third = await admin.post('/admin/clients', {
    client_name: 'Partner app',
    redirect_uris: ['https://partner.example.net/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email',
  });
  expect(third.status).toBe(201);
  thirdParty = await appFor(server, 'Partner app', third.body, 'https://partner.example.net/callback');
  const google = await admin.post('/admin/clients', { profile: 'google', google_project_id: 'sso-voice-4711' });
  expect(google.status).toBe(201);
  voice = google.body;
});

afterAll(async () => {
  await server?.destroy();
  await Promise.all([receivers?.a.close(), receivers?.b.close()]);
});

beforeEach(() => {
  receivers.a.deliveries.length = 0;
  receivers.b.deliveries.length = 0;
});

describe('single sign-on across first-party apps', () => {
  test('log in once through A; B signs in with no login and no consent form; a third-party app still asks for consent', async () => {
    const user = await createUserWithRoles(['admin']);
    const { browser, tokens: a } = await signInThroughA(user);
    expect(a.claims()!.sub).toBe(user.id);

    const b = await silentSignIn(appB, browser);
    expect(b.claims()!.sub).toBe(user.id);

    const partner = await startAuthorization(thirdParty, browser);
    expect(formShown(partner.page)).toBe('consent');
    expect(partner.page.html).toContain('Partner app wants access');
    const back = await browser.submit(partner.page, '/confirm', {}, thirdParty.redirectUri);
    expect((await partner.finish(back.url)).claims()!.sub).toBe(user.id);

    // A fresh browser has no session: B asks for a login there.
    expect(formShown((await startAuthorization(appB, new Browser(server.url))).page)).toBe('login');
  });

  test('prompt=login on B shows the login form again, even though the browser is signed in', async () => {
    const user = await createUserWithRoles([]);
    const { browser } = await signInThroughA(user);
    const flow = await startAuthorization(appB, browser, { prompt: 'login' });
    expect(formShown(flow.page)).toBe('login');
    const back = await browser.submit(flow.page, '/login', { email: user.email, password: PASSWORD }, appB.redirectUri);
    expect(formShown(back)).toBe('none'); // a login, still no consent for a first-party app
    expect((await flow.finish(back.url)).claims()!.sub).toBe(user.id);
    // The session goes on: a plain request of A needs nothing.
    await silentSignIn(appA, browser);
  });

  test('max_age=0 forces a fresh login; the ID token carries the new auth_time', async () => {
    const user = await createUserWithRoles([]);
    const { browser, tokens } = await signInThroughA(user);
    const firstAuthTime = tokens.claims()!.auth_time ?? 0;
    const flow = await startAuthorization(appB, browser, { max_age: '0' });
    expect(formShown(flow.page)).toBe('login');
    const back = await browser.submit(flow.page, '/login', { email: user.email, password: PASSWORD }, appB.redirectUri);
    const fresh = await flow.finish(back.url, { maxAge: 0 });
    expect(fresh.claims()!.auth_time).toEqual(expect.any(Number));
    expect(fresh.claims()!.auth_time!).toBeGreaterThanOrEqual(firstAuthTime);
  });
});

describe('roles, mapped per client', () => {
  test("A sees the user's roles as stored, B through its role_map, in the ID token, userinfo and introspection", async () => {
    const user = await createUserWithRoles(['admin']);
    const { browser, tokens: a } = await signInThroughA(user);
    const b = await silentSignIn(appB, browser);

    for (const [app, tokens, roles] of [
      [appA, a, ['admin']],
      [appB, b, ['owner']],
    ] as const) {
      expect(tokens.claims()!.roles).toEqual(roles);
      expect((await oidc.fetchUserInfo(app.rp, tokens.access_token, user.id)).roles).toEqual(roles);
      expect(await oidc.tokenIntrospection(app.rp, tokens.access_token)).toMatchObject({ active: true, sub: user.id, roles });
      // A resource server introspecting sees the roles as the token's own client names them.
      expect(await introspect(server, introspector, tokens.access_token)).toMatchObject({ active: true, roles });
    }
  });

  test('roles the map does not name pass through; a changed role shows from the next refresh', async () => {
    const user = await createUserWithRoles(['admin']);
    const { browser } = await signInThroughA(user);
    const b = await silentSignIn(appB, browser);
    expect((await admin.patch(`/admin/users/${user.id}`, { roles: ['admin', 'billing'] })).status).toBe(200);
    const refreshed = await oidc.refreshTokenGrant(appB.rp, b.refresh_token!);
    expect(refreshed.claims()!.roles).toEqual(['owner', 'billing']);
    expect(await introspect(server, introspector, refreshed.access_token)).toMatchObject({ active: true, roles: ['owner', 'billing'] });
  });

  test('a user without roles gets an empty list', async () => {
    const user = await createUserWithRoles([]);
    const { tokens } = await signInThroughA(user);
    expect(tokens.claims()!.roles).toEqual([]);
  });
});

describe('logout everywhere', () => {
  test('RP-initiated logout from A: A and B get verified back-channel logout tokens, the session tokens die, voice and consented links survive', async () => {
    const user = await createUserWithRoles(['admin']);
    const { browser, tokens: a } = await signInThroughA(user);
    const b = await silentSignIn(appB, browser);

    // In the same browser session: a voice assistant link (google profile) and a consented third-party app.
    const googleRedirect = voice.redirect_uris[0]!;
    const linkUrl = `${server.url}/auth?${new URLSearchParams({ client_id: voice.client_id, redirect_uri: googleRedirect, state: 'link', scope: 'openid profile email', response_type: 'code' })}`;
    const linkCallback = await loginAndConsent(browser, linkUrl, user, googleRedirect);
    const link = await platformTokenRequest(server, 'google', voice, { grant_type: 'authorization_code', code: linkCallback.searchParams.get('code')!, redirect_uri: googleRedirect });
    expect(link.status).toBe(200);
    const partnerFlow = await startAuthorization(thirdParty, browser);
    const partner = await partnerFlow.finish((await browser.submit(partnerFlow.page, '/confirm', {}, thirdParty.redirectUri)).url);

    for (const token of [a.access_token, b.access_token, a.refresh_token!, b.refresh_token!]) {
      expect((await introspect(server, introspector, token)).active).toBe(true);
    }

    // RP-initiated logout from A, confirmed on the logout page ("Yes, sign me out").
    const signedOut = 'https://app-a.example.com/signed-out';
    const endSession = oidc.buildEndSessionUrl(appA.rp, { id_token_hint: a.id_token!, post_logout_redirect_uri: signedOut, state: 'bye' });
    const confirm = await browser.navigate(endSession.href, signedOut);
    expect(confirm.html).toContain('Sign out?');
    const done = await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, signedOut);
    expect(new URL(done.url).searchParams.get('state')).toBe('bye');

    // Each first-party app got exactly one logout token, signed with the server's published keys.
    const jwks = jose.createRemoteJWKSet(new URL(appA.rp.serverMetadata().jwks_uri!));
    for (const [app, receiver, tokens] of [
      [appA, receivers.a, a],
      [appB, receivers.b, b],
    ] as const) {
      expect(receiver.deliveries).toHaveLength(1);
      const [delivery] = receiver.deliveries;
      expect(delivery!.contentType).toBe('application/x-www-form-urlencoded');
      const { payload, protectedHeader } = await jose.jwtVerify(delivery!.logoutToken!, jwks, {
        issuer: server.url,
        audience: app.client.client_id,
        typ: 'logout+jwt',
        maxTokenAge: '2 minutes',
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.sub).toBe(user.id);
      expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
      expect(payload.sid).toEqual(expect.any(String));
      expect(payload.sid).toBe(tokens.claims()!.sid);
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload).not.toHaveProperty('nonce');
    }
    expect(receivers.a.deliveries[0]!.logoutToken).not.toBe(receivers.b.deliveries[0]!.logoutToken);

    // The session's tokens are dead: introspection, userinfo, refresh.
    for (const [app, tokens] of [
      [appA, a],
      [appB, b],
    ] as const) {
      expect(await introspect(server, introspector, tokens.access_token)).toEqual({ active: false });
      expect(await introspect(server, introspector, tokens.refresh_token!)).toEqual({ active: false });
      const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, app.client);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
      await expect(oidc.fetchUserInfo(app.rp, tokens.access_token, user.id)).rejects.toThrow();
    }

    // The voice link survives a browser logout, and so does the app the user consented to.
    const voiceRefresh = await platformTokenRequest(server, 'google', voice, { grant_type: 'refresh_token', refresh_token: link.body.refresh_token });
    expect(voiceRefresh.status).toBe(200);
    expect((await introspect(server, introspector, voiceRefresh.body.access_token)).active).toBe(true);
    expect((await introspect(server, introspector, partner.access_token)).active).toBe(true);
    expect((await oidc.refreshTokenGrant(thirdParty.rp, partner.refresh_token!)).access_token).toEqual(expect.any(String));

    // The browser is signed out: A and B ask for a login again.
    expect(formShown((await startAuthorization(appB, browser)).page)).toBe('login');
  });

  test('"No, stay signed in" ends only the app that asked: A is notified and its tokens die, B keeps working', async () => {
    const user = await createUserWithRoles([]);
    const { browser, tokens: a } = await signInThroughA(user);
    const b = await silentSignIn(appB, browser);
    const endSession = oidc.buildEndSessionUrl(appA.rp, { id_token_hint: a.id_token! });
    const confirm = await browser.navigate(endSession.href, 'https://nowhere.invalid/');
    const done = await browser.submit(confirm, '/session/end/confirm', {}, 'https://nowhere.invalid/');
    // The page says what happened: signed out of A only (src/oidc/pages.ts).
    expect(done.html).toContain('You are still signed in');
    expect(done.html).toMatch(/You were signed out of .+ only/);

    expect(receivers.a.deliveries).toHaveLength(1);
    expect(receivers.b.deliveries).toHaveLength(0);
    expect(await introspect(server, introspector, a.access_token)).toEqual({ active: false });
    expect((await introspect(server, introspector, b.access_token)).active).toBe(true);
    expect((await oidc.refreshTokenGrant(appB.rp, b.refresh_token!)).access_token).toEqual(expect.any(String));
    // Still signed in to the session: B needs no login, A needs no login either (a new grant, no consent).
    await silentSignIn(appB, browser);
    await silentSignIn(appA, browser);
  });

  test('an app asking for offline_access (with prompt=consent) keeps that refresh token after logout', async () => {
    const user = await createUserWithRoles([]);
    const { browser, tokens: a } = await signInThroughA(user);
    const flow = await startAuthorization({ ...appB, scope: 'openid offline_access' }, browser, { prompt: 'consent' });
    expect(formShown(flow.page)).toBe('consent');
    const offline = await flow.finish((await browser.submit(flow.page, '/confirm', {}, appB.redirectUri)).url);
    expect(String(offline.scope).split(' ')).toContain('offline_access');

    const endSession = oidc.buildEndSessionUrl(appA.rp, { id_token_hint: a.id_token! });
    const confirm = await browser.navigate(endSession.href, 'https://nowhere.invalid/');
    await browser.submit(confirm, '/session/end/confirm', { logout: 'yes' }, 'https://nowhere.invalid/');

    expect(receivers.b.deliveries).toHaveLength(1); // B is told the browser session ended …
    expect(await introspect(server, introspector, a.access_token)).toEqual({ active: false });
    expect((await oidc.refreshTokenGrant(appB.rp, offline.refresh_token!)).access_token).toEqual(expect.any(String)); // … its offline token lives on
  });

  test('a backchannel_logout_uri must be a URL; http is accepted for a loopback receiver', async () => {
    const bad = await admin.post('/admin/clients', { redirect_uris: ['https://x.example.com/cb'], backchannel_logout_uri: 'not a url' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_client_metadata');
    const discovery = (await fetch(`${server.url}/.well-known/openid-configuration`).then((r) => r.json())) as Record<string, unknown>;
    expect(discovery).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });
});

describe('outbound calls and the SSRF guard', () => {
  // oidc-provider gives each outbound call a dispatcher refusing every special-use address; our fetch hook replaces
  // it with one that obeys the outbound policy, built from the Agent class of Node's undici global dispatcher. The
  // suite's environment has the real one (test/support/undici-environment.js); these tests set it aside for each
  // test and check the hook without one or with a stand-in, then put it back.
  // test/oidc/provider-outbound-policy.test.ts runs the real one against a real server.
  const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  const DISPATCHER_KEYS = [GLOBAL_DISPATCHER, Symbol.for('undici.globalDispatcher.2')];
  type ConnectListener = (origin: URL, targets: object[]) => void;
  // Named Agent, as undici's is: the hook takes only a plain Agent (not a proxy agent).
  class Agent {
    static built: Agent[] = [];
    listeners: ConnectListener[] = [];
    constructor(readonly options?: { connect?: { lookup?: unknown } }) {
      Agent.built.push(this);
    }
    on(_event: 'connect', listener: ConnectListener) {
      this.listeners.push(listener);
      return this;
    }
  }
  const holder = globalThis as unknown as Record<symbol, unknown>;
  const given = { ssrf: 'oidc-provider' };
  const providerInit = () => ({ method: 'POST', dispatcher: given }) as unknown as RequestInit;
  const policyFor = (settings: Partial<OutboundPolicySettings> = {}) => outboundPolicy({ issuer: 'http://127.0.0.1:3000', allowPrivateNetworks: [], ...settings });
  const quietLogger = () => ({ warn: jest.fn(), error: jest.fn() }) as unknown as Logger & { warn: jest.Mock; error: jest.Mock };
  const calls = () => {
    const spy = jest.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(null, { status: 200 }));
    const dispatcherOf = (i: number) => (spy.mock.calls[i]![1] as { dispatcher?: unknown } | undefined)?.dispatcher;
    return Object.assign(dispatcherOf, { count: () => spy.mock.calls.length });
  };
  /** Connects a stand-in socket at `address` through the dispatcher's listeners: whether it was destroyed. */
  const connectedTo = (agent: Agent, address: string) => {
    const socket = { remoteAddress: address, destroy: jest.fn() };
    const client = { [Symbol('socket')]: socket };
    for (const listener of agent.listeners) listener(new URL(`http://${address.includes(':') ? `[${address}]` : address}`), [agent, client]);
    return socket.destroy.mock.calls.length > 0;
  };
  let environment: Map<symbol, unknown>;
  beforeEach(() => {
    environment = new Map(DISPATCHER_KEYS.filter((key) => key in holder).map((key) => [key, holder[key]]));
    for (const key of DISPATCHER_KEYS) delete holder[key];
  });
  afterEach(() => {
    jest.restoreAllMocks();
    for (const key of DISPATCHER_KEYS) delete holder[key];
    for (const [key, dispatcher] of environment) holder[key] = dispatcher;
    Agent.built = [];
  });

  test("without Node's undici Agent: outside production calls go as oidc-provider made them, with one warning; in production they are refused", async () => {
    const dispatcherOf = calls();
    const logger = quietLogger();
    const fetchHook = outboundFetch({ policy: policyFor(), logger, production: false });
    await fetchHook('http://127.0.0.1:4000/backchannel-logout', providerInit());
    await fetchHook('https://app.example.com/backchannel-logout', providerInit());
    expect([0, 1].map(dispatcherOf)).toEqual([given, given]);
    expect(logger.warn).toHaveBeenCalledTimes(1);

    const productionLogger = quietLogger();
    const refusing = outboundFetch({ policy: policyFor({ production: true }), logger: productionLogger, production: true });
    await expect(refusing('https://app.example.com/backchannel-logout', providerInit())).rejects.toThrow(DestinationRefused);
    expect(dispatcherOf.count()).toBe(2); // nothing went out
    expect(productionLogger.error).toHaveBeenCalledTimes(1);
  });

  test('a proxy agent as the global dispatcher counts as no Agent (its sockets reach the proxy, not the destination)', async () => {
    holder[GLOBAL_DISPATCHER] = new (class EnvHttpProxyAgent {})();
    const refusing = outboundFetch({ policy: policyFor({ production: true }), logger: quietLogger(), production: true });
    await expect(refusing('https://app.example.com/backchannel-logout', providerInit())).rejects.toThrow(DestinationRefused);
  });

  test('with it, every call gets one dispatcher of ours, and its connect check is the outbound policy', async () => {
    holder[GLOBAL_DISPATCHER] = new Agent();
    const dispatcherOf = calls();
    const logger = quietLogger();
    const policy = policyFor();
    const fetchHook = outboundFetch({ policy, logger, production: false });
    for (const url of ['http://127.0.0.1:4000/backchannel-logout', 'https://app.example.com/backchannel-logout', 'http://10.0.0.5/backchannel-logout']) await fetchHook(url, providerInit());
    const ours = Agent.built[1]!; // [0] stands in for the global dispatcher
    expect(Agent.built).toHaveLength(2);
    expect([0, 1, 2].map(dispatcherOf)).toEqual([ours, ours, ours]);
    expect(logger.warn).not.toHaveBeenCalled();
    // Names the policy refuses are never dialled: the policy resolves them.
    expect(ours.options?.connect?.lookup).toBe(policy.lookup);
    // A connection whose socket cannot be found is destroyed too.
    const client = { destroy: jest.fn() };
    for (const listener of ours.listeners) listener(new URL('http://app.example.com'), [ours, client]);
    expect(client.destroy).toHaveBeenCalledTimes(1);
    // An issuer on loopback outside production: loopback passes, private and link-local addresses do not.
    expect(['127.0.0.1', '::1', '93.184.215.14', '10.0.0.5', '169.254.169.254', '::ffff:10.0.0.5'].map((address) => [address, connectedTo(ours, address)])).toEqual([
      ['127.0.0.1', false], ['::1', false], ['93.184.215.14', false], ['10.0.0.5', true], ['169.254.169.254', true], ['::ffff:10.0.0.5', true],
    ]);
  });

  test('a public issuer, or production, reaches loopback only through OUTBOUND_ALLOW_PRIVATE_NETWORKS', async () => {
    holder[GLOBAL_DISPATCHER] = new Agent();
    const hookFor = (settings: Partial<OutboundPolicySettings>) => {
      outboundFetch({ policy: policyFor(settings), logger: quietLogger(), production: settings.production ?? false });
      return Agent.built[Agent.built.length - 1]!;
    };
    expect(connectedTo(hookFor({ issuer: 'https://id.example.com' }), '127.0.0.1')).toBe(true);
    expect(connectedTo(hookFor({ production: true }), '127.0.0.1')).toBe(true);
    const allowed = hookFor({ issuer: 'https://id.example.com', allowPrivateNetworks: ['127.0.0.0/8', '10.0.0.0/8'] });
    expect(['127.0.0.1', '10.0.0.5', '169.254.169.254'].map((address) => connectedTo(allowed, address))).toEqual([false, false, true]);
  });
});
