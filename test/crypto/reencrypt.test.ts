import { randomBytes, randomUUID } from 'node:crypto';
import { KeyRing } from '../../src/crypto/keyring.js';
import { parseKeyRing } from '../../src/crypto/load-keyring.js';
import { reencryptAll, type ReencryptQueries, type TableResult } from '../../src/crypto/reencrypt.js';
import { secretAad, toProviderMetadata } from '../../src/clients/store.js';
import { connectionAad, mailboxPasswordAad, stateVerifierAad } from '../../src/integrations/sealing.js';
import { loadSigningJwks, rotateSigningKeys } from '../../src/oidc/signing-keys.js';
import { createAdapterClass } from '../../src/oidc/adapter/adapter.js';
import { postgresArtifactStore } from '../../src/oidc/adapter/postgres-store.js';
import { clientArtifactStore } from '../../src/clients/store.js';
import { createLogger } from '../../src/logger.js';
import type { ConnectionRow } from '../../src/queries/connections.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { TEST_ENCRYPTION_KEYS } from '../support/services.js';

const b64 = (key: Buffer) => key.toString('base64');
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
/** Where the data starts: written by a deployment whose only key was `old`. */
const oldRing = new KeyRing([{ kid: 'old', key: oldKey }]);
/** The rotated ring: `new` first, then every key that wrote something (the server's own test keys too). */
const rotated = parseKeyRing(`new:${b64(newKey)},old:${b64(oldKey)},${TEST_ENCRYPTION_KEYS}`);
/** After the old keys are removed. */
const newOnly = new KeyRing([{ kid: 'new', key: newKey }]);

let server: TestServer;
const ctx = () => server.context;
const db = () => server.context.database.db;
const byTable = (results: TableResult[]) => Object.fromEntries(results.map((r) => [r.table, r]));

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.destroy());

/** An oidc adapter over the server's SQL store that seals with `ring` (as an instance running that ring would). */
function adapterWith(ring: KeyRing) {
  const durable = postgresArtifactStore(ctx().queries.oidcModels, Date.now);
  const Adapter = createAdapterClass({
    stores: { durable, ephemeral: durable, writeThrough: durable, clients: clientArtifactStore(ctx().queries.clients, ring) },
    clock: Date.now,
    refreshTokenReuseGraceSeconds: 0,
    logger: createLogger('error', { silent: true }),
    sealer: ring,
  });
  return new Adapter('Session');
}

function connectionValues(purpose: string, ring: KeyRing, tokens: { access: string; refresh: string }) {
  const identity = { workspace_id: 'default', actor_type: 'user' as const, actor_id: 'user-1', provider: 'google', purpose };
  return {
    ...identity,
    id: randomUUID(),
    provider_subject: 'sub',
    provider_email: null,
    scopes: ['email'],
    access_token_enc: ring.encrypt(tokens.access, connectionAad(identity, 'access_token')),
    refresh_token_enc: ring.encrypt(tokens.refresh, connectionAad(identity, 'refresh_token')),
    token_type: 'Bearer',
    expires_at: new Date(Date.now() + 3600_000),
    now: new Date(),
  };
}

async function insertMailbox(purpose: string, ring: KeyRing, password: string) {
  const row = { workspace_id: 'default', purpose };
  await ctx().queries.mailboxes.upsert(
    {
      ...row,
      auth_method: 'password',
      email: `${purpose}@example.test`,
      username: purpose,
      imap_host: 'imap.example.test',
      imap_port: 993,
      imap_security: 'tls',
      smtp_host: 'smtp.example.test',
      smtp_port: 465,
      smtp_security: 'tls',
      password_enc: ring.encrypt(password, mailboxPasswordAad(row)),
      connection_id: null,
      use_idle: false,
    },
    new Date(),
  );
}

async function insertState(stateHash: string, ring: KeyRing, verifier: string) {
  await ctx().queries.oauthStates.insert({
    state_hash: stateHash,
    provider: 'google',
    workspace_id: 'default',
    actor_type: 'user',
    actor_id: 'user-1',
    purpose: 'default',
    return_to: null,
    code_verifier_enc: ring.encrypt(verifier, stateVerifierAad(stateHash)),
    nonce: null,
    scopes: [],
    created_at: new Date(),
    expires_at: new Date(Date.now() + 600_000),
  });
}

/** Every ciphertext at rest, read straight from the tables. */
async function allCiphertexts(): Promise<string[]> {
  const [keys, clients, models, connections, mailboxes, states] = await Promise.all([
    db()('signing_keys').pluck('private_jwk_encrypted'),
    db()('clients').whereNotNull('secret_encrypted').pluck('secret_encrypted'),
    db()('oidc_models').whereRaw("payload->>'sealedJti' IS NOT NULL").select(db().raw("payload->>'sealedJti' AS s")),
    db()('integration_connections').select('access_token_enc', 'refresh_token_enc'),
    db()('integration_mailboxes').whereNotNull('password_enc').pluck('password_enc'),
    db()('oauth_states').whereNotNull('code_verifier_enc').pluck('code_verifier_enc'),
  ]);
  return [
    ...keys,
    ...clients,
    ...models.map((m: { s: string }) => m.s),
    ...connections.flatMap((c: ConnectionRow) => [c.access_token_enc, c.refresh_token_enc]).filter((c): c is string => c !== null),
    ...mailboxes,
    ...states,
  ];
}

describe('encryption:reencrypt', () => {
  const sessions = [0, 1, 2].map((i) => ({ id: `session-${i}-${randomUUID()}`, uid: `uid-${i}-${randomUUID()}` }));
  const tokens = [0, 1, 2].map((i) => ({ purpose: `p${i}`, access: `access-${i}-${randomUUID()}`, refresh: `refresh-${i}-${randomUUID()}` }));
  const mailboxes = [0, 1, 2].map((i) => ({ purpose: `mail${i}`, password: `pw-${i}-${randomUUID()}` }));
  const states = [0, 1, 2].map((i) => ({ hash: `hash-${i}-${randomUUID()}`, verifier: `verifier-${i}-${randomUUID()}` }));
  const clientSecrets: Array<{ client_id: string; client_secret: string }> = [];

  test('re-encrypts every table under the primary key; the old key is no longer needed; a second run changes nothing', async () => {
    // Data written by a deployment that ran on the `old` key alone.
    await rotateSigningKeys(ctx().queries.signingKeys, oldRing, 3600);
    for (let i = 0; i < 3; i += 1) {
      const created = await ctx().clients.register({ client_name: `HMAC ${i}`, redirect_uris: ['https://rp.example.test/cb'], token_endpoint_auth_method: 'client_secret_jwt' });
      clientSecrets.push(created as { client_id: string; client_secret: string });
    }
    // register() seals with the server's ring: re-seal those secrets under `old`, as the old deployment had.
    for (const { client_id, client_secret } of clientSecrets) {
      await db()('clients').where({ client_id }).update({ secret_encrypted: oldRing.encrypt(client_secret, secretAad(client_id)) });
    }
    const oldAdapter = adapterWith(oldRing);
    for (const s of sessions) await oldAdapter.upsert(s.id, { uid: s.uid, accountId: 'user-1', kind: 'Session' } as never, 3600);
    for (const t of tokens) await ctx().queries.connections.upsertConnected(connectionValues(t.purpose, oldRing, t));
    for (const m of mailboxes) await insertMailbox(m.purpose, oldRing, m.password);
    for (const s of states) await insertState(s.hash, oldRing, s.verifier);
    expect((await allCiphertexts()).some((c) => KeyRing.kidOf(c) === 'old')).toBe(true);

    const done: string[] = [];
    // A small batch walks several keyset pages (composite cursors included).
    const results = await reencryptAll({ queries: ctx().queries, keyring: rotated, batchSize: 2, onProgress: (p) => p.done && done.push(p.table) });
    const t = byTable(results);
    expect(done).toEqual(['signing_keys', 'clients', 'oidc_models', 'integration_connections', 'integration_mailboxes', 'oauth_states', 'webhook_subscriptions']);
    for (const result of results) {
      expect(result).toMatchObject({ failed: 0, skipped_concurrent: 0, failures: [] });
      expect(result.reencrypted + result.already_current).toBe(result.scanned);
    }
    expect(t.signing_keys!.reencrypted).toBeGreaterThanOrEqual(4); // the server's first keys and the rotated ones
    expect(t.clients!.reencrypted).toBeGreaterThanOrEqual(3);
    expect(t.oidc_models!.reencrypted).toBeGreaterThanOrEqual(3);
    expect(t.integration_connections!.reencrypted).toBe(3);
    expect(t.integration_mailboxes!.reencrypted).toBe(3);
    expect(t.oauth_states!.reencrypted).toBe(3);

    const all = await allCiphertexts();
    expect(all.length).toBeGreaterThanOrEqual(4 + 3 + 3 + 6 + 3 + 3);
    expect(all.every((c) => KeyRing.kidOf(c) === 'new')).toBe(true);

    // A ring holding only the new key reads everything, through the modules that own each AAD.
    const jwks = await loadSigningJwks(ctx().queries.signingKeys, newOnly);
    expect(jwks.keys.length).toBeGreaterThanOrEqual(4);
    for (const { client_id, client_secret } of clientSecrets) {
      expect(toProviderMetadata((await ctx().queries.clients.find(client_id))!, newOnly).client_secret).toBe(client_secret);
    }
    const newAdapter = adapterWith(newOnly);
    for (const s of sessions) expect((await newAdapter.findByUid(s.uid))?.jti).toBe(s.id);
    for (const tk of tokens) {
      const row = (await ctx().queries.connections.find({ workspace_id: 'default', actor_type: 'user', actor_id: 'user-1', provider: 'google', purpose: tk.purpose }))!;
      expect(newOnly.decrypt(row.access_token_enc!, connectionAad(row, 'access_token'))).toBe(tk.access);
      expect(newOnly.decrypt(row.refresh_token_enc!, connectionAad(row, 'refresh_token'))).toBe(tk.refresh);
    }
    for (const m of mailboxes) {
      const row = (await ctx().queries.mailboxes.find('default', m.purpose))!;
      expect(newOnly.decrypt(row.password_enc!, mailboxPasswordAad(row))).toBe(m.password);
    }
    for (const s of states) {
      const row = await db()('oauth_states').where({ state_hash: s.hash }).first();
      expect(newOnly.decrypt(row.code_verifier_enc, stateVerifierAad(s.hash))).toBe(s.verifier);
    }

    const again = await reencryptAll({ queries: ctx().queries, keyring: rotated });
    for (const result of again) expect(result).toMatchObject({ reencrypted: 0, failed: 0, already_current: result.scanned });
  });

  test('a ciphertext that does not belong to its row fails, named by row id and never by value; the others continue', async () => {
    const swapped = [
      { purpose: 'swap-a', password: `pw-a-${randomUUID()}` },
      { purpose: 'swap-b', password: `pw-b-${randomUUID()}` },
      { purpose: 'swap-c', password: `pw-c-${randomUUID()}` },
    ];
    for (const m of swapped) await insertMailbox(m.purpose, oldRing, m.password);
    const [a, b] = await Promise.all(['swap-a', 'swap-b'].map((purpose) => ctx().queries.mailboxes.find('default', purpose)));
    await db()('integration_mailboxes').where({ workspace_id: 'default', purpose: 'swap-a' }).update({ password_enc: b!.password_enc });
    await db()('integration_mailboxes').where({ workspace_id: 'default', purpose: 'swap-b' }).update({ password_enc: a!.password_enc });
    // Access and refresh token of one connection swapped: the field is part of the associated data too.
    const tk = { access: `access-x-${randomUUID()}`, refresh: `refresh-x-${randomUUID()}` };
    const crossed = await ctx().queries.connections.upsertConnected(connectionValues('crossed', oldRing, tk));
    await db()('integration_connections').where({ id: crossed.id }).update({ access_token_enc: crossed.refresh_token_enc, refresh_token_enc: crossed.access_token_enc });
    // And one sealed with a key that is in no ring.
    const stray = new KeyRing([{ kid: 'lost', key: randomBytes(32) }]);
    await insertState('hash-stray', stray, 'verifier-stray');
    await insertState('hash-fine', oldRing, 'verifier-fine');

    const results = await reencryptAll({ queries: ctx().queries, keyring: rotated });
    const t = byTable(results);
    expect(t.integration_mailboxes).toMatchObject({ reencrypted: 1, failed: 2 });
    expect(t.integration_mailboxes!.failures.map((f) => f.id).sort()).toEqual(['default/swap-a', 'default/swap-b']);
    expect(t.integration_connections).toMatchObject({ reencrypted: 0, failed: 1 });
    expect(t.integration_connections!.failures).toEqual([
      { id: crossed.id, field: 'access_token_enc', reason: expect.stringMatching(/failed authentication/) },
      { id: crossed.id, field: 'refresh_token_enc', reason: expect.stringMatching(/failed authentication/) },
    ]);
    expect(t.oauth_states).toMatchObject({ reencrypted: 1, failed: 1, failures: [{ id: 'hash-stray', field: 'code_verifier_enc', reason: expect.stringMatching(/no key "lost"/) }] });
    const report = JSON.stringify(results);
    for (const secret of [...swapped.map((m) => m.password), tk.access, tk.refresh, 'verifier-stray']) expect(report).not.toContain(secret);
    // Failed rows are left as they were; the good ones moved on.
    expect(KeyRing.kidOf((await ctx().queries.mailboxes.find('default', 'swap-a'))!.password_enc!)).toBe('old');
    expect(KeyRing.kidOf((await ctx().queries.mailboxes.find('default', 'swap-c'))!.password_enc!)).toBe('new');

    await db()('integration_mailboxes').whereIn('purpose', ['swap-a', 'swap-b']).delete();
    await db()('integration_connections').where({ id: crossed.id }).delete();
    await db()('oauth_states').where({ state_hash: 'hash-stray' }).delete();
  });

  test('a row written between read and write is skipped, and the concurrent write is kept', async () => {
    const tk = { access: `access-r-${randomUUID()}`, refresh: `refresh-r-${randomUUID()}` };
    const target = await ctx().queries.connections.upsertConnected(connectionValues('racing', oldRing, tk));
    const refreshed = { access: `access-r2-${randomUUID()}`, refresh: `refresh-r2-${randomUUID()}` };
    const queries = ctx().queries;
    // A token refresh by a running instance (on the rotated ring) lands just before the re-encryption's UPDATE.
    const racing: ReencryptQueries = {
      ...queries,
      connections: {
        ...queries.connections,
        async replaceCiphertexts(id, expected, next) {
          if (id === target.id) {
            await queries.connections.storeRefreshed(id, expected.refresh_token_enc, {
              access_token_enc: rotated.encrypt(refreshed.access, connectionAad(target, 'access_token')),
              refresh_token_enc: rotated.encrypt(refreshed.refresh, connectionAad(target, 'refresh_token')),
              token_type: 'Bearer',
              expires_at: new Date(Date.now() + 3600_000),
              scopes: ['email'],
              now: new Date(),
            });
          }
          return queries.connections.replaceCiphertexts(id, expected, next);
        },
      },
    };
    const t = byTable(await reencryptAll({ queries: racing, keyring: rotated }));
    expect(t.integration_connections).toMatchObject({ reencrypted: 0, skipped_concurrent: 1, failed: 0 });
    const row = (await queries.connections.findById(target.id))!;
    expect(newOnly.decrypt(row.access_token_enc!, connectionAad(row, 'access_token'))).toBe(refreshed.access);
    expect(newOnly.decrypt(row.refresh_token_enc!, connectionAad(row, 'refresh_token'))).toBe(refreshed.refresh);
    expect(byTable(await reencryptAll({ queries, keyring: rotated })).integration_connections).toMatchObject({ reencrypted: 0, skipped_concurrent: 0 });
  });
});
