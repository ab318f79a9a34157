import { startTestServer, type TestServer } from '../support/server.js';
import { freePort, startDovecot, type Dovecot } from '../support/dovecot.js';
import { describeWith } from '../support/services.js';
import { integrationService } from './setup.js';

/**
 * `POST /integrations/mailboxes/:purpose/check` never dials a special-use address (SSRF, port scanning): any token of
 * a workspace sets the hosts, so a public server refuses loopback, private and link-local destinations (the cloud
 * metadata address 169.254.169.254 included) with one fixed reason, open port or not. OUTBOUND_ALLOW_PRIVATE_NETWORKS
 * lets an operator's internal mail server through. The servers listen on 127.0.0.1 but say they are
 * https://auth.example.test (a public issuer); the Dovecot is real, on 127.0.0.1.
 */

const REFUSAL = 'destination address is not allowed (special-use)';
const PUBLIC_ISSUER = 'https://auth.example.test';

let dovecot: Dovecot;

/** A password mailbox at the test Dovecot, in plaintext (allowed on loopback; the server trusts only public CAs). */
const dovecotMailbox = (host = '127.0.0.1') => ({
  auth_method: 'password',
  username: dovecot.user.name,
  password: dovecot.user.password,
  imap: { host, port: dovecot.ports.imap, security: 'none' },
  smtp: { host, port: dovecot.ports.submission, security: 'none' },
});

describeWith('dovecot', 'mail check destinations', () => {
  beforeAll(async () => {
    dovecot = await startDovecot();
  }, 90_000);
  afterAll(async () => {
    await dovecot?.stop();
  });

  describe('a public issuer', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ config: { issuer: PUBLIC_ISSUER } });
    });
    afterAll(async () => server?.destroy());

    test('the local Dovecot is refused before any connection: the same reason for an open port, a closed one and a name', async () => {
      expect(server.context.config.issuer).toBe(PUBLIC_ISSUER);
      const { call } = await integrationService(server);
      expect((await call.put('/integrations/mailboxes/ssrf-open', dovecotMailbox())).status).toBe(201);
      const checked = await call.post('/integrations/mailboxes/ssrf-open/check');
      expect(checked.status).toBe(200);
      expect(checked.body).toMatchObject({ ok: false, imap: { ok: false, error: REFUSAL }, smtp: { ok: false, error: REFUSAL } });
      const health = (await call.get('/integrations/mailboxes/ssrf-open')).body.health;
      expect(health).toMatchObject({ last_error: `imap: ${REFUSAL}; smtp: ${REFUSAL}`, last_success_at: null, last_check_at: checked.body.checked_at });
      expect(dovecot.log()).not.toMatch(new RegExp(`user=<${dovecot.user.name}>`)); // no login reached it

      // A closed loopback port and `localhost` (a name resolving to loopback) answer exactly the same.
      const closed = await freePort();
      await call.put('/integrations/mailboxes/ssrf-closed', { ...dovecotMailbox(), imap: { host: '127.0.0.1', port: closed, security: 'tls' }, smtp: { host: '127.0.0.1', port: closed, security: 'starttls' } });
      await call.put('/integrations/mailboxes/ssrf-name', dovecotMailbox('localhost'));
      for (const purpose of ['ssrf-closed', 'ssrf-name']) {
        const result = await call.post(`/integrations/mailboxes/${purpose}/check`);
        expect({ purpose, status: result.status, body: result.body }).toMatchObject({ purpose, status: 200, body: { ok: false, imap: { ok: false, error: REFUSAL }, smtp: { ok: false, error: REFUSAL } } });
      }
    });

    test('link-local (cloud metadata), private and IPv4-mapped private addresses: refused at once, no timeout', async () => {
      const { call } = await integrationService(server);
      for (const host of ['169.254.169.254', '10.0.0.5', '[::ffff:a00:5]', '[fd00::25]', '0.0.0.0']) {
        const put = await call.put('/integrations/mailboxes/ssrf-internal', { ...dovecotMailbox(), imap: { host, port: 993, security: 'tls' }, smtp: { host, port: 25, security: 'starttls' } });
        expect([200, 201]).toContain(put.status);
        const started = Date.now();
        const result = await call.post('/integrations/mailboxes/ssrf-internal/check');
        expect({ host, body: result.body }).toMatchObject({ host, body: { ok: false, imap: { ok: false, error: REFUSAL }, smtp: { ok: false, error: REFUSAL } } });
        expect(Date.now() - started).toBeLessThan(2000);
      }
    });
  });

  describe('a public issuer with OUTBOUND_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ config: { issuer: PUBLIC_ISSUER, outbound: { allowPrivateNetworks: ['127.0.0.0/8'] } } });
    });
    afterAll(async () => server?.destroy());

    test('the local Dovecot is checked again (login on both sides); 169.254.169.254 stays refused', async () => {
      const { call } = await integrationService(server);
      expect((await call.put('/integrations/mailboxes/allowed', dovecotMailbox())).status).toBe(201);
      const checked = await call.post('/integrations/mailboxes/allowed/check');
      expect(checked.status).toBe(200);
      expect(checked.body).toMatchObject({ ok: true, imap: { ok: true }, smtp: { ok: true } });
      expect((await call.get('/integrations/mailboxes/allowed')).body.health).toMatchObject({ last_error: null, last_success_at: checked.body.checked_at });

      await call.put('/integrations/mailboxes/metadata', { ...dovecotMailbox(), imap: { host: '169.254.169.254', port: 993, security: 'tls' }, smtp: { host: '169.254.169.254', port: 465, security: 'tls' } });
      const started = Date.now();
      const refused = await call.post('/integrations/mailboxes/metadata/check');
      expect(refused.body).toMatchObject({ ok: false, imap: { ok: false, error: REFUSAL }, smtp: { ok: false, error: REFUSAL } });
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });
});
