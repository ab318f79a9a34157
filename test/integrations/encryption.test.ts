import { Redis } from 'ioredis';
import { connectionSealer } from '../../src/integrations/sealing.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import { services } from '../support/services.js';
import { connect, integrationUser, startConsumerWorld, type ConsumerWorld } from './setup.js';

let world: ConsumerWorld;
// Two servers start here (ours on PGlite or Postgres, and the upstream): give them more than the default 30 s.
beforeAll(async () => {
  world = await startConsumerWorld();
}, 90_000);
afterAll(async () => world?.close());

const db = () => world.server.context.database.db;
const row = async (id: string) => (await db()('integration_connections').where({ id }).first()) as ConnectionRow;
const secretsOf = async (id: string) => {
  const r = await row(id);
  const sealer = connectionSealer(world.server.context.keyring);
  return [sealer.open(r, 'access_token', r.access_token_enc), sealer.open(r, 'refresh_token', r.refresh_token_enc)].filter(Boolean) as string[];
};

/** Every row of every table of this server's schema, as text. */
async function dumpPostgres(): Promise<string> {
  const tables = await db()
    .select('table_name')
    .from('information_schema.tables')
    .whereRaw('table_schema = current_schema()')
    .andWhere('table_type', 'BASE TABLE');
  const parts: string[] = [];
  for (const { table_name } of tables as Array<{ table_name: string }>) {
    const rows = await db().raw(`SELECT t::text AS line FROM ?? t`, [table_name]);
    parts.push(...(rows.rows as Array<{ line: string }>).map((r) => r.line));
  }
  return parts.join('\n');
}

/** Every key and value this server wrote to Redis (none without Redis). */
async function dumpRedis(): Promise<string> {
  if (!services.redisUrl) return '';
  const redis = new Redis(services.redisUrl);
  try {
    const keys = await redis.keys(`${world.server.context.config.redis.keyPrefix}*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key) : type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'set' ? JSON.stringify(await redis.smembers(key)) : '';
      parts.push(key, value ?? '');
    }
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe('encryption at rest', () => {
  test('no plaintext token or mailbox password in Postgres or Redis', async () => {
    const { call } = await integrationUser(world.server);
    const connected = await connect(world, call, 'google', { purpose: 'scan' });
    const vended = await call.post('/integrations/google/token', { purpose: 'scan' });
    const forced = await call.post('/integrations/google/token', { purpose: 'scan', force_refresh: true });
    const password = 'mailbox-password-that-must-not-leak-7f3a';
    const mailbox = await call.put('/integrations/mailboxes/scan', {
      auth_method: 'password',
      username: 'ops@example.com',
      password,
      imap: { host: 'imap.example.com', port: 993, security: 'tls' },
      smtp: { host: 'smtp.example.com', port: 465, security: 'tls' },
    });
    expect(mailbox.status).toBe(201);
    expect(JSON.stringify(mailbox.body)).not.toContain(password);
    expect(mailbox.body.has_password).toBe(true);

    const seen = new Set([vended.body.access_token, forced.body.access_token, ...(await secretsOf(connected.body.id)), password]);
    expect(seen.size).toBeGreaterThanOrEqual(4);
    const stored = (await dumpPostgres()) + (await dumpRedis());
    expect(stored).toContain(connected.body.id); // the dump really holds the connection
    if (services.redisUrl) expect(await dumpRedis()).toContain(`integ:{${connected.body.id}}`); // and the ciphertext cache
    for (const secret of seen) expect(stored).not.toContain(secret);
    // the ciphertext carries the key id of the newest key
    expect((await row(connected.body.id)).refresh_token_enc).toMatch(/^v1\.test1\./);
  });

  test('a ciphertext copied into another row does not open there', async () => {
    const alice = await integrationUser(world.server);
    const bob = await integrationUser(world.server);
    const a = await connect(world, alice.call, 'google', { purpose: 'swap' });
    const b = await connect(world, bob.call, 'google', { purpose: 'swap' });
    const aliceToken = (await alice.call.post('/integrations/google/token', { purpose: 'swap' })).body.access_token;
    const aliceRow = await row(a.body.id);
    // Bob's row now holds Alice's ciphertexts (what an attacker with SQL write access could do).
    await db()('integration_connections').where({ id: b.body.id }).update({ access_token_enc: aliceRow.access_token_enc, refresh_token_enc: aliceRow.refresh_token_enc });
    await world.server.flushRedis();

    const sealer = connectionSealer(world.server.context.keyring);
    const bobRow = await row(b.body.id);
    expect(() => sealer.open(bobRow, 'refresh_token', bobRow.refresh_token_enc)).toThrow(/failed authentication/);
    const response = await bob.call.post('/integrations/google/token', { purpose: 'swap' });
    expect(response.status).toBe(409);
    expect(response.body.error).toBe('needs_reauth');
    expect(JSON.stringify(response.body)).not.toContain(aliceToken);
    expect((await bob.call.get('/integrations/google/status?purpose=swap')).body.health.last_error).toMatch(/unreadable_token/);
    // Alice's own link is unaffected.
    expect((await alice.call.post('/integrations/google/token', { purpose: 'swap' })).body.access_token).toBe(aliceToken);
  });

  test('the field is part of the binding: an access token ciphertext does not open as the refresh token', async () => {
    const { call } = await integrationUser(world.server);
    const c = await connect(world, call, 'google', { purpose: 'field' });
    const r = await row(c.body.id);
    const sealer = connectionSealer(world.server.context.keyring);
    expect(() => sealer.open(r, 'refresh_token', r.access_token_enc)).toThrow(/failed authentication/);
    expect(sealer.open(r, 'access_token', r.access_token_enc)).toBeTruthy();
  });
});
