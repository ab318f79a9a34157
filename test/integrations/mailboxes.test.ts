import { connect, integrationUser, mailboxSettings, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld();
}, 90_000);
afterAll(async () => world?.close());

const settings = mailboxSettings;

describe('tenant mailboxes', () => {
  test('create, read (never a secret back), switch to oauth2, and disconnect reverts to password', async () => {
    const { call } = await integrationUser(world.server, `ws-mail-${Date.now().toString(36)}`);
    expect((await call.get('/integrations/mailboxes/booking')).status).toBe(404);

    const created = await call.put('/integrations/mailboxes/booking', settings());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ purpose: 'booking', auth_method: 'password', has_password: true, use_idle: true, imap: { port: 993, security: 'tls' } });
    expect(JSON.stringify(created.body)).not.toContain('app-secret-1');
    const read = await call.get('/integrations/mailboxes/booking');
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const connection = await connect(world, call, 'microsoft', { purpose: 'booking' });
    const oauth = await call.put('/integrations/mailboxes/booking', settings({ auth_method: 'oauth2', password: undefined, connection_id: connection.body.id }));
    expect(oauth.status).toBe(200);
    expect(oauth.body).toMatchObject({ auth_method: 'oauth2', connection_id: connection.body.id, has_password: true });

    const disconnected = await call.post('/integrations/microsoft/disconnect', { purpose: 'booking' });
    expect(disconnected.body.mailboxes_reverted).toEqual(['booking']);
    expect(disconnected.body.upstream_revocation).toBe('revoked'); // the local "microsoft" has a revocation endpoint
    const after = await call.get('/integrations/mailboxes/booking');
    expect(after.body).toMatchObject({ auth_method: 'password', connection_id: null, has_password: true });
  });

  test('the stored password never follows the mailbox to another host; only your own connection can be lent', async () => {
    const workspace = `ws-mail-${Date.now().toString(36)}c`;
    const alice = await integrationUser(world.server, workspace);
    const bob = await integrationUser(world.server, workspace);
    await alice.call.put('/integrations/mailboxes/front', settings());
    const moved = await alice.call.put('/integrations/mailboxes/front', settings({ password: undefined, imap: { host: 'imap.attacker.example', port: 993, security: 'tls' } }));
    expect(moved.status).toBe(400);
    expect(moved.body.error_description).toMatch(/password again/);
    expect((await alice.call.get('/integrations/mailboxes/front')).body.imap.host).toBe('outlook.office365.com');
    // the same settings without a password keep the stored one
    const same = await alice.call.put('/integrations/mailboxes/front', settings({ password: undefined, use_idle: false }));
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ has_password: true, use_idle: false });

    const bobs = await connect(world, bob.call, 'gmail', { purpose: 'front' });
    const borrowed = await alice.call.put('/integrations/mailboxes/front', settings({ auth_method: 'oauth2', password: undefined, connection_id: bobs.body.id }));
    expect(borrowed.status).toBe(404);
    expect((await alice.call.get('/integrations/mailboxes/front')).body.auth_method).toBe('password');
  });

  test('bad input is a 400 and changes nothing', async () => {
    const { call } = await integrationUser(world.server, `ws-mail-${Date.now().toString(36)}b`);
    await call.put('/integrations/mailboxes/stopsale', settings());
    const before = (await call.get('/integrations/mailboxes/stopsale')).body;
    const bad = [
      settings({ auth_method: 'kerberos' }),
      settings({ imap: { host: 'imap.example.com', port: 0, security: 'tls' } }),
      settings({ smtp: { host: 'smtp.example.com', port: 25, security: 'none' } }), // plaintext only on loopback
      settings({ auth_method: 'oauth2', connection_id: undefined }),
      settings({ unknown: true }),
      settings({ username: '' }),
    ];
    for (const body of bad) {
      const response = await call.put('/integrations/mailboxes/stopsale', body);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
    expect((await call.put('/integrations/mailboxes/Bad Purpose', settings())).status).toBe(400);
    expect((await call.get('/integrations/mailboxes/stopsale')).body).toEqual(before);
    // a new password-less mailbox needs a password
    const noPassword = await call.put('/integrations/mailboxes/new', settings({ password: undefined }));
    expect(noPassword.status).toBe(400);
    expect((await call.get('/integrations/mailboxes/new')).status).toBe(404);
  });
});

describe('mailbox settings refuse control characters', () => {
  test.each([
    ['CR LF in the username', { username: 'bookings@hotel.example\r\nA1 LOGOUT' }],
    ['LF in the username', { username: 'bookings\n' }],
    ['a tab in the username', { username: 'book\tings' }],
    ['NEL (U+0085) in the username', { username: 'book\u0085ings' }],
    ['a line separator in the username', { username: 'book\u2028ings' }],
    ['DEL in the username', { username: 'book\u007fings' }],
    ['CR LF in the IMAP host', { imap: { host: 'imap.example.com\r\n', port: 993, security: 'tls' } }],
    ['LF in the SMTP host', { smtp: { host: 'smtp.example.com\nX', port: 587, security: 'starttls' } }],
    ['a trailing LF in a loopback host', { imap: { host: '[::1]\n', port: 143, security: 'none' } }],
    ['CR LF in the email', { email: 'bookings@hotel.example\r\n' }],
  ])('%s is a 400 and changes nothing', async (_name, override) => {
    const { call } = await integrationUser(world.server, `ws-mail-${Date.now().toString(36)}-ctl`);
    const created = await call.put('/integrations/mailboxes/booking', settings());
    expect(created.status).toBe(201);
    const before = (await call.get('/integrations/mailboxes/booking')).body;
    const response = await call.put('/integrations/mailboxes/booking', settings(override));
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    expect((await call.get('/integrations/mailboxes/booking')).body).toEqual(before);
    // on a new purpose nothing is created either
    expect((await call.put('/integrations/mailboxes/other', settings(override))).status).toBe(400);
    expect((await call.get('/integrations/mailboxes/other')).status).toBe(404);
  });

  test('ordinary usernames still work: an email address, DOMAIN\\user, spaces and non-ASCII letters', async () => {
    const { call } = await integrationUser(world.server, `ws-mail-${Date.now().toString(36)}-ok`);
    for (const username of ['bookings@hotel.example', 'HOTEL\\bookings', 'front desk', 'réception']) {
      const response = await call.put('/integrations/mailboxes/booking', settings({ username }));
      expect(response.status).toBeLessThan(300);
      expect(response.body.username).toBe(username);
    }
  });
});
