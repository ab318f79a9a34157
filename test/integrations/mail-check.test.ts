import net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { HttpError } from '../../src/http/errors.js';
import { mailboxChecker, type MailboxCheckerDeps, type MailboxCheckResult } from '../../src/integrations/mail-check/service.js';
import type { IntegrationActor } from '../../src/integrations/actor.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import type { MailboxRow } from '../../src/queries/mailboxes.js';
import type { OutboundPolicy } from '../../src/net/outbound-policy.js';
import { freePort, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWith } from '../support/services.js';
import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

/**
 * Live mailbox checks against a real, private Dovecot (IMAP + submission) whose oauth2 passdb validates tokens by
 * RFC 7662 introspection at the local upstream: the same token the consumer vends is what Dovecot checks.
 */

// Dovecot's login name must equal the token's `sub` (oidc-provider's introspection has no `email`): so the
// upstream account's subject is its address, as a mailbox user name is.
const ALICE = { sub: 'alice@upstream.test', email: 'alice@upstream.test', name: 'Alice Upstream' };

let world: ConsumerWorld;
let dovecot: Dovecot;
let logLines: string[];
let handedOut: string[];

/** The service as the server builds it, but trusting the test Dovecot's certificate and logging into `logLines`. */
function checker(overrides: Partial<MailboxCheckerDeps> = {}) {
  const { context } = world.server;
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  return mailboxChecker({
    mailboxes: context.queries.mailboxes,
    connections: context.queries.connections,
    keyring: context.keyring,
    vendToken: async (connection: ConnectionRow) => {
      const actor = { workspace_id: connection.workspace_id, actor_type: connection.actor_type, actor_id: connection.actor_id };
      const token = await context.integrations.token(actor, connection.provider, { purpose: connection.purpose, force_refresh: false }, { actor: 'test' });
      handedOut.push(token.access_token);
      return token.access_token;
    },
    clock: context.clock,
    logger: createLogger('debug', { stream }),
    extraCa: [dovecot.ca],
    timeoutMs: 5000,
    outbound: context.outbound,
    ...overrides,
  });
}

const workspaceName = (tag: string) => `ws-mc-${tag}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const actorOfUser = (workspace: string, user: { id: string }): IntegrationActor => ({ workspace_id: workspace, actor_type: 'user', actor_id: user.id });
const storedRow = async (workspace: string, purpose: string) => (await world.server.context.queries.mailboxes.find(workspace, purpose)) as MailboxRow;

/** A mailbox setting at the test Dovecot (PUT /integrations/mailboxes/:purpose body). */
function dovecotMailbox(overrides: { imap?: 'tls' | 'starttls' | 'none'; smtp?: 'tls' | 'starttls' | 'none'; [key: string]: unknown } = {}) {
  const { imap = 'starttls', smtp = 'starttls', ...rest } = overrides;
  const imapPort = imap === 'tls' ? dovecot.ports.imaps : dovecot.ports.imap;
  const smtpPort = smtp === 'tls' ? dovecot.ports.submissions : dovecot.ports.submission;
  return {
    auth_method: 'password',
    username: dovecot.user.name,
    password: dovecot.user.password,
    imap: { host: '127.0.0.1', port: imapPort, security: imap },
    smtp: { host: '127.0.0.1', port: smtpPort, security: smtp },
    use_idle: false,
    ...rest,
  };
}

/** Nothing secret in what the check answered, stored or logged. */
async function expectNoSecrets(result: MailboxCheckResult | unknown, workspace: string, purpose: string, secrets: string[]) {
  const row = await storedRow(workspace, purpose);
  for (const secret of secrets) {
    expect(JSON.stringify(result)).not.toContain(secret);
    expect(row.last_error ?? '').not.toContain(secret);
    expect(logLines.join('')).not.toContain(secret);
  }
}

describeWith('dovecot', 'mailbox checks against a real Dovecot', () => {
  beforeAll(async () => {
    world = await startConsumerWorld({ upstream: { account: ALICE, accessTokenTtl: 600 } });
    dovecot = await startDovecot({
      introspection: { url: `${world.upstream.issuer}/token/introspection`, clientId: world.upstream.clientId, clientSecret: world.upstream.clientSecret },
    });
  }, 90_000);
  afterAll(async () => {
    await dovecot?.stop();
    await world?.close();
  });
  beforeEach(() => {
    logLines = [];
    handedOut = [];
  });
  afterEach(() => {
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts && dovecot) process.stdout.write(`dovecot log:\n${dovecot.log().split('\n').slice(-30).join('\n')}\n`);
  });

  describe('oauth2 (XOAUTH2 with a vended token, introspected by Dovecot)', () => {
    test('succeeds with a fresh token: IMAP login + IDLE on INBOX, SMTP AUTH; health records the success', async () => {
      const workspace = workspaceName('oauth');
      const { user, call } = await integrationUser(world.server, workspace);
      const connection = await connect(world, call, 'gmail', { purpose: 'booking' });
      expect(connection.status).toBe(200);
      const put = await call.put('/integrations/mailboxes/booking', dovecotMailbox({ auth_method: 'oauth2', password: undefined, username: ALICE.email, connection_id: connection.body.id, use_idle: true }));
      expect(put.status).toBe(201);

      const result = await checker().check(actorOfUser(workspace, user), 'booking');
      expect(result).toMatchObject({ purpose: 'booking', auth_method: 'oauth2', ok: true, imap: { ok: true, idle: true }, smtp: { ok: true } });
      expect(new Date(result.checked_at).toISOString()).toBe(result.checked_at);
      expect(handedOut).toHaveLength(1);
      await expectNoSecrets(result, workspace, 'booking', handedOut);
      const row = await storedRow(workspace, 'booking');
      expect(row).toMatchObject({ last_error: null, error_count: 0 });
      expect(new Date(row.last_success_at!).toISOString()).toBe(result.checked_at);
      expect(new Date(row.last_check_at!).toISOString()).toBe(result.checked_at);
      // Dovecot really asked the upstream: the login is in its log under the token's subject.
      expect(dovecot.log()).toMatch(new RegExp(`imap-login: Info: Login: user=<${ALICE.email}>, method=(XOAUTH2|OAUTHBEARER)`));
      expect(dovecot.log()).toMatch(new RegExp(`submission-login: Info: Login: user=<${ALICE.email}>, method=(XOAUTH2|OAUTHBEARER)`));
    });

    test('implicit TLS on both sides, without IDLE', async () => {
      const workspace = workspaceName('oauth-tls');
      const { user, call } = await integrationUser(world.server, workspace);
      const connection = await connect(world, call, 'microsoft', { purpose: 'stopsale' });
      await call.put('/integrations/mailboxes/stopsale', dovecotMailbox({ imap: 'tls', smtp: 'tls', auth_method: 'oauth2', password: undefined, username: ALICE.email, connection_id: connection.body.id }));
      const result = await checker().check(actorOfUser(workspace, user), 'stopsale');
      expect(result).toMatchObject({ ok: true, imap: { ok: true }, smtp: { ok: true } });
      expect(result.imap.idle).toBeUndefined();
    });

    test('fails cleanly once the upstream revoked the tokens; then a broken connection fails without dialling', async () => {
      const workspace = workspaceName('revoked');
      const { user, call } = await integrationUser(world.server, workspace);
      const connection = await connect(world, call, 'gmail', { purpose: 'booking' });
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ auth_method: 'oauth2', password: undefined, username: ALICE.email, connection_id: connection.body.id, use_idle: true }));
      const check = checker();
      expect((await check.check(actorOfUser(workspace, user), 'booking')).ok).toBe(true);

      await world.upstream.revokeAll(ALICE.sub);
      const failed = await check.check(actorOfUser(workspace, user), 'booking');
      expect(failed).toMatchObject({ ok: false, imap: { ok: false, idle: false }, smtp: { ok: false } });
      expect(failed.imap.error).toMatch(/authentication failed/);
      expect(failed.smtp.error).toMatch(/authentication failed/);
      await expectNoSecrets(failed, workspace, 'booking', handedOut);
      let row = await storedRow(workspace, 'booking');
      expect(row.last_error).toMatch(/^imap: authentication failed.*; smtp: authentication failed/);
      expect(row.error_count).toBe(1);
      expect(new Date(row.last_check_at!).toISOString()).toBe(failed.checked_at);
      expect(new Date(row.last_success_at!).getTime()).toBeLessThan(new Date(failed.checked_at).getTime());

      // The refresh token is dead too: the next refresh marks the link needs_reauth, and the check says so.
      const refresh = await call.post('/integrations/gmail/token', { purpose: 'booking', force_refresh: true });
      expect(refresh.status).toBe(409);
      const logins = (dovecot.log().match(/Login: user=/g) ?? []).length;
      const broken = await check.check(actorOfUser(workspace, user), 'booking');
      expect(broken).toMatchObject({ ok: false, imap: { ok: false }, smtp: { ok: false } });
      expect(broken.imap.error).toMatch(/gmail connection of this mailbox needs to be connected again/);
      expect((dovecot.log().match(/Login: user=/g) ?? []).length).toBe(logins);
      row = await storedRow(workspace, 'booking');
      expect(row.error_count).toBe(2);
      // The API shows the same health.
      expect((await call.get('/integrations/mailboxes/booking')).body.health).toMatchObject({ error_count: 2, last_error: row.last_error });
    });
  });

  describe('password', () => {
    test('the right password logs in (IMAP over TLS with IDLE, SMTP with STARTTLS); a success resets the error count', async () => {
      const workspace = workspaceName('pw');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'tls', smtp: 'starttls', use_idle: true, password: 'wrong-password-1' }));
      const check = checker();
      const wrong = await check.check(actorOfUser(workspace, user), 'booking');
      expect(wrong).toMatchObject({ ok: false, auth_method: 'password', imap: { ok: false, idle: false }, smtp: { ok: false } });
      expect(wrong.imap.error).toMatch(/authentication failed/);
      expect(wrong.smtp.error).toMatch(/authentication failed/);
      await expectNoSecrets(wrong, workspace, 'booking', ['wrong-password-1']);
      expect((await storedRow(workspace, 'booking')).error_count).toBe(1);

      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'tls', smtp: 'starttls', use_idle: true }));
      const right = await check.check(actorOfUser(workspace, user), 'booking');
      expect(right).toMatchObject({ ok: true, imap: { ok: true, idle: true }, smtp: { ok: true } });
      await expectNoSecrets(right, workspace, 'booking', [dovecot.user.password]);
      expect(await storedRow(workspace, 'booking')).toMatchObject({ last_error: null, error_count: 0 });
      expect(dovecot.log()).toMatch(new RegExp(`imap-login: Info: Login: user=<${dovecot.user.name}>, method=PLAIN`));
    });

    test('plaintext on loopback (security none) works; app_password is a password', async () => {
      const workspace = workspaceName('none');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'none', smtp: 'none', auth_method: 'app_password' }));
      expect(await checker().check(actorOfUser(workspace, user), 'booking')).toMatchObject({ ok: true, auth_method: 'app_password', imap: { ok: true }, smtp: { ok: true } });
    });

    test('certificates are verified: an untrusted server certificate is a TLS failure, not a login', async () => {
      const workspace = workspaceName('tls');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'tls', smtp: 'starttls' }));
      const result = await checker({ extraCa: undefined }).check(actorOfUser(workspace, user), 'booking');
      expect(result.ok).toBe(false);
      expect(result.imap.error).toMatch(/^TLS failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
      expect(result.smtp.error).toMatch(/^TLS failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/);
    });
  });

  describe('dead servers and missing mailboxes', () => {
    test('nobody listening: connection refused at once', async () => {
      const workspace = workspaceName('dead');
      const { user, call } = await integrationUser(world.server, workspace);
      const [imapPort, smtpPort] = [await freePort(), await freePort()];
      await call.put('/integrations/mailboxes/booking', { ...dovecotMailbox(), imap: { host: '127.0.0.1', port: imapPort, security: 'tls' }, smtp: { host: '127.0.0.1', port: smtpPort, security: 'tls' } });
      const started = Date.now();
      const result = await checker().check(actorOfUser(workspace, user), 'booking');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result).toMatchObject({ ok: false, imap: { ok: false, error: 'connection refused (ECONNREFUSED)' }, smtp: { ok: false, error: 'connection refused (ECONNREFUSED)' } });
      expect((await storedRow(workspace, 'booking')).last_error).toBe('imap: connection refused (ECONNREFUSED); smtp: connection refused (ECONNREFUSED)');
    });

    test('a server that accepts and never answers: a clean timeout within the limit', async () => {
      const silent = net.createServer(() => {});
      const sockets = new Set<net.Socket>();
      silent.on('connection', (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as net.AddressInfo).port;
      try {
        const workspace = workspaceName('silent');
        const { user, call } = await integrationUser(world.server, workspace);
        await call.put('/integrations/mailboxes/booking', { ...dovecotMailbox(), imap: { host: '127.0.0.1', port, security: 'starttls' }, smtp: { host: '127.0.0.1', port, security: 'tls' } });
        const started = Date.now();
        const result = await checker({ timeoutMs: 1000 }).check(actorOfUser(workspace, user), 'booking');
        expect(Date.now() - started).toBeLessThan(4000);
        expect(result.ok).toBe(false);
        expect(result.imap.error).toMatch(/^timed out \(/);
        expect(result.smtp.error).toMatch(/^timed out \(/);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    test('no such mailbox in the workspace: 404 not_found (another workspace\'s mailbox does not count)', async () => {
      const workspace = workspaceName('none-here');
      const other = workspaceName('other');
      const { user } = await integrationUser(world.server, workspace);
      const { call: otherCall } = await integrationUser(world.server, other);
      await otherCall.put('/integrations/mailboxes/booking', dovecotMailbox());
      const error = await checker().check(actorOfUser(workspace, user), 'booking').catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  // A host name with several addresses, the first of which may not answer (an AAAA and an A record with the server
  // on IPv4 only, one dead node of several). There is no DNS server here and /etc/hosts stays as it is, so the
  // narrowest seam is the checker's `outbound` dependency: the server's own policy, except that `localhost` (the name
  // in the Dovecot certificate) resolves to the given addresses, each still checked by that policy. Nothing listens
  // on 127.0.0.2 / 127.0.0.3 (Dovecot binds 127.0.0.1 only): connecting there is refused at once.
  describe('a host with several addresses', () => {
    const resolvingLocalhostTo = (addresses: string[]): OutboundPolicy => {
      const policy = world.server.context.outbound;
      return {
        ...policy,
        resolve: async (host) => (host === 'localhost' ? (await Promise.all(addresses.map((address) => policy.resolve(address)))).flat() : policy.resolve(host)),
      };
    };
    const atLocalhost = (overrides: Parameters<typeof dovecotMailbox>[0] = {}) => {
      const setting = dovecotMailbox(overrides);
      return { ...setting, imap: { ...setting.imap, host: 'localhost' }, smtp: { ...setting.smtp, host: 'localhost' } };
    };
    /** Dovecot's log lines about logins (successful or failed) of the passwd-file user, per service. */
    const loginLines = (service: 'imap' | 'submission') =>
      dovecot.log().split('\n').filter((line) => line.includes(`${service}-login: `) && line.includes(`user=<${dovecot.user.name}>`));

    test('the first address refuses: the next one (Dovecot) is checked, IMAP and SMTP, over TLS with the name for SNI', async () => {
      const workspace = workspaceName('multi');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', atLocalhost({ imap: 'tls', smtp: 'starttls', use_idle: true }));
      const result = await checker({ outbound: resolvingLocalhostTo(['127.0.0.2', '127.0.0.1']) }).check(actorOfUser(workspace, user), 'booking');
      expect(result).toMatchObject({ ok: true, imap: { ok: true, idle: true }, smtp: { ok: true } });
      expect(await storedRow(workspace, 'booking')).toMatchObject({ last_error: null, error_count: 0 });
    });

    test('a refused login is reported once, not tried on the other addresses; so is a TLS failure', async () => {
      const workspace = workspaceName('multi-auth');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', atLocalhost({ imap: 'starttls', smtp: 'starttls', password: 'wrong-password-2' }));
      const [imapBefore, smtpBefore] = [loginLines('imap').length, loginLines('submission').length];
      // Dovecot answers at the second and the third address: a retry after the refusal would log in there again.
      const check = checker({ outbound: resolvingLocalhostTo(['127.0.0.2', '127.0.0.1', '127.0.0.1']) });
      const wrong = await check.check(actorOfUser(workspace, user), 'booking');
      expect(wrong).toMatchObject({ ok: false, imap: { ok: false, error: expect.stringMatching(/^authentication failed/) }, smtp: { ok: false, error: expect.stringMatching(/^authentication failed/) } });
      // One failed login per side in Dovecot's log (written as the connection closes: wait for it, then a moment
      // for any second one).
      const logged = () => loginLines('imap').length > imapBefore && loginLines('submission').length > smtpBefore;
      for (let waited = 0; !logged() && waited < 3000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [imapLines, smtpLines] = [loginLines('imap').slice(imapBefore), loginLines('submission').slice(smtpBefore)];
      expect({ imapLines, smtpLines }).toEqual({ imapLines: [expect.stringMatching(/auth failed/)], smtpLines: [expect.stringMatching(/auth failed/)] });
      expect(`${wrong.imap.error} ${wrong.smtp.error}`).not.toMatch(/tried|refused/);
      await expectNoSecrets(wrong, workspace, 'booking', ['wrong-password-2']);

      // An untrusted certificate at the second address: a TLS finding, not "refused" from the third.
      await call.put('/integrations/mailboxes/booking', atLocalhost({ imap: 'tls', smtp: 'starttls' }));
      const untrusted = await checker({ extraCa: undefined, outbound: resolvingLocalhostTo(['127.0.0.2', '127.0.0.1', '127.0.0.3']) }).check(actorOfUser(workspace, user), 'booking');
      expect(untrusted).toMatchObject({ ok: false, imap: { ok: false, error: 'TLS failed (DEPTH_ZERO_SELF_SIGNED_CERT)' }, smtp: { ok: false, error: 'TLS failed (DEPTH_ZERO_SELF_SIGNED_CERT)' } });
    });

    test('every address refuses: one compact error per side that says how many were tried', async () => {
      const workspace = workspaceName('multi-dead');
      const { user, call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', atLocalhost({ imap: 'tls', smtp: 'tls' }));
      const started = Date.now();
      const result = await checker({ outbound: resolvingLocalhostTo(['127.0.0.2', '127.0.0.3']) }).check(actorOfUser(workspace, user), 'booking');
      expect(Date.now() - started).toBeLessThan(5000);
      const error = 'connection refused (ECONNREFUSED) (tried 2 addresses)';
      expect(result).toMatchObject({ ok: false, imap: { ok: false, error }, smtp: { ok: false, error } });
      expect((await storedRow(workspace, 'booking')).last_error).toBe(`imap: ${error}; smtp: ${error}`);
    });
  });

  // Through the server's own route (the lead mounts `POST /integrations/mailboxes/:purpose/check`). The server
  // trusts only Node's bundled CAs, so these use plaintext on loopback.
  describe('POST /integrations/mailboxes/:purpose/check', () => {
    test('password mailbox: 200 with the result (also when ok is false), health in GET; 404, 400 and 401', async () => {
      const workspace = workspaceName('http');
      const { call } = await integrationUser(world.server, workspace);
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'none', smtp: 'none', use_idle: true }));
      const ok = await call.post('/integrations/mailboxes/booking/check');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toBe('no-store');
      expect(ok.body).toMatchObject({ purpose: 'booking', auth_method: 'password', ok: true, imap: { ok: true, idle: true }, smtp: { ok: true }, checked_at: expect.any(String) });
      expect(JSON.stringify(ok.body)).not.toContain(dovecot.user.password);
      const read = await call.get('/integrations/mailboxes/booking');
      expect(read.body.health).toMatchObject({ last_check_at: ok.body.checked_at, last_success_at: ok.body.checked_at, last_error: null });

      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'none', smtp: 'none', password: 'not-the-password' }));
      const refused = await call.post('/integrations/mailboxes/booking/check');
      expect(refused.status).toBe(200); // the check ran; its finding is ok:false
      expect(refused.body).toMatchObject({ ok: false, imap: { ok: false, error: expect.stringMatching(/authentication failed/) }, smtp: { ok: false } });
      expect(JSON.stringify(refused.body)).not.toContain('not-the-password');
      expect((await call.get('/integrations/mailboxes/booking')).body.health.last_error).toMatch(/^imap: authentication failed/);

      const missing = await call.post('/integrations/mailboxes/nothing-here/check');
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('not_found');
      const bad = await call.post('/integrations/mailboxes/Bad%20Purpose/check');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('invalid_request');
      const anonymous = await fetch(`${world.server.url}/integrations/mailboxes/booking/check`, { method: 'POST' });
      expect(anonymous.status).toBe(401);
    });

    test('oauth2 mailbox: the server vends the connection\'s token itself', async () => {
      const workspace = workspaceName('http-oauth');
      const { call } = await integrationUser(world.server, workspace);
      const connection = await connect(world, call, 'gmail', { purpose: 'booking' });
      await call.put('/integrations/mailboxes/booking', dovecotMailbox({ imap: 'none', smtp: 'none', auth_method: 'oauth2', password: undefined, username: ALICE.email, connection_id: connection.body.id, use_idle: true }));
      const checked = await call.post('/integrations/mailboxes/booking/check');
      expect(checked.status).toBe(200);
      expect(checked.body).toMatchObject({ auth_method: 'oauth2', ok: true, imap: { ok: true, idle: true }, smtp: { ok: true } });
      const vended = await call.post('/integrations/gmail/token', { purpose: 'booking' });
      expect(JSON.stringify(checked.body)).not.toContain(vended.body.access_token);
    });
  });
});
