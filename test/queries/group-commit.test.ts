import { groupCommit } from '../../src/queries/group-commit.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A writer that records each statement's rows and holds it open until released. */
function recordingWriter(failWhen: (rows: string[]) => boolean = () => false) {
  const statements: string[][] = [];
  const pending: Array<() => void> = [];
  const run = (rows: string[]) => {
    statements.push(rows);
    return new Promise<void>((resolve, reject) => pending.push(() => (failWhen(rows) ? reject(new Error(`refused ${rows.join(',')}`)) : resolve())));
  };
  const releaseAll = async () => {
    while (pending.length) {
      pending.splice(0).forEach((release) => release());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { statements, run, releaseAll };
}

describe('group commit (scheduling)', () => {
  test('idle: each write goes alone at once; busy: the writes that waited go together, no key twice in one statement', async () => {
    const writer = recordingWriter();
    const write = groupCommit<string>({ writeOne: (row) => writer.run([row]), writeMany: writer.run, keyOf: (row) => row.split('#')[0]!, maxInFlight: 2, maxBatch: 3 });
    const done = ['a', 'b', 'c', 'd', 'e', 'c#again', 'f'].map((row) => write(row));
    // Two slots: the first two rows went out alone, the rest wait.
    expect(writer.statements).toEqual([['a'], ['b']]);
    await writer.releaseAll();
    await Promise.all(done);
    // Then batches of at most 3, never with key c twice.
    expect(writer.statements).toEqual([['a'], ['b'], ['c', 'd', 'e'], ['c#again', 'f']]);
  });

  test('without keyOf (plain inserts, the audit log): equal rows may share a statement, in the order they came', async () => {
    const writer = recordingWriter();
    const write = groupCommit<string>({ writeOne: (row) => writer.run([row]), writeMany: writer.run, maxInFlight: 1, maxBatch: 3 });
    const done = ['a', 'b', 'b', 'b', 'c'].map((row) => write(row));
    await writer.releaseAll();
    await Promise.all(done);
    expect(writer.statements).toEqual([['a'], ['b', 'b', 'b'], ['c']]);
  });

  test('a statement that fails is retried row by row: only the bad row fails its caller', async () => {
    const writer = recordingWriter((rows) => rows.includes('bad'));
    const write = groupCommit<string>({ writeOne: (row) => writer.run([row]), writeMany: writer.run, keyOf: (row) => row, maxInFlight: 1, maxBatch: 10 });
    const results = Promise.allSettled(['first', 'x', 'bad', 'y'].map((row) => write(row)));
    await writer.releaseAll();
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(writer.statements).toEqual([['first'], ['x', 'bad', 'y'], ['x'], ['bad'], ['y']]);
  });
});

describe('group commit of oidc-provider artifacts (real database)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  const expiresAt = new Date(Date.now() + 60_000);
  const payloadOf = (i: number) => ({ n: i, quote: 'a "quoted" \\ value, {braces}' });

  test('many concurrent upserts share statements; every row is stored with its payload, expiry and grant', async () => {
    const queries = server.context.queries.oidcModels;
    const prefix = `gc-${Date.now()}-`;
    const results = await Promise.allSettled([
      ...Array.from({ length: 80 }, (_, i) => queries.upsert('AccessToken', `${prefix}${i}`, payloadOf(i), expiresAt, { grantId: `${prefix}grant-${i % 2}`, clientId: 'c' })),
      // No expiry (NULL in the timestamptz array), and the same key twice at once.
      queries.upsert('Grant', `${prefix}forever`, { v: 0 }, null, {}),
      queries.upsert('AccessToken', `${prefix}dup`, { v: 1 }, expiresAt, {}),
      queries.upsert('AccessToken', `${prefix}dup`, { v: 2 }, expiresAt, {}),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

    const now = new Date();
    for (let i = 0; i < 80; i += 1) {
      const found = await queries.find('AccessToken', `${prefix}${i}`, now);
      expect(found?.payload).toEqual(payloadOf(i));
      expect(found?.expiresAt?.getTime()).toBe(expiresAt.getTime());
    }
    expect([1, 2]).toContain((await queries.find('AccessToken', `${prefix}dup`, now))?.payload.v);
    expect(await queries.find('Grant', `${prefix}forever`, now)).toEqual({ payload: { v: 0 }, consumedAt: null, expiresAt: null });
    // Rows written by one statement share its transaction id: 83 rows came in a handful of statements, not 83.
    const { rows } = await server.context.database.db.raw('SELECT count(DISTINCT xmin::text)::int AS statements FROM oidc_models WHERE id LIKE ?', [`${prefix}%`]);
    expect(rows[0].statements).toBeLessThanOrEqual(6);
    // The grant column was written for the batched rows too: revoking a grant deletes its 40 rows.
    expect(await queries.revokeByGrantId('AccessToken', `${prefix}grant-1`)).toBe(40);
    expect(await queries.find('AccessToken', `${prefix}1`, now)).toBeUndefined();
    expect(await queries.find('AccessToken', `${prefix}2`, now)).toBeDefined();
  });

  test('a row Postgres refuses (U+0000 in jsonb) fails alone; the rows it shared a statement with are stored', async () => {
    const queries = server.context.queries.oidcModels;
    const prefix = `gc-bad-${Date.now()}-`;
    const good = Array.from({ length: 20 }, (_, i) => queries.upsert('AccessToken', `${prefix}${i}`, payloadOf(i), expiresAt, {}));
    const bad = queries.upsert('AccessToken', `${prefix}bad`, { v: 'nul\u0000' }, expiresAt, {});
    const results = await Promise.allSettled([...good, bad]);
    expect(results.map((r) => r.status)).toEqual([...Array(20).fill('fulfilled'), 'rejected']);
    const now = new Date();
    for (let i = 0; i < 20; i += 1) expect((await queries.find('AccessToken', `${prefix}${i}`, now))?.payload).toEqual(payloadOf(i));
    expect(await queries.find('AccessToken', `${prefix}bad`, now)).toBeUndefined();
  });
});
