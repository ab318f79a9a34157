import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Knex } from 'knex';
import { auditLog } from '../../src/audit/writer.js';
import { createLogger } from '../../src/logger.js';
import { registerAdminClient } from '../support/api.js';
import { postForm } from '../support/flow.js';
import { describeWith } from '../support/services.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The provider answers only once the audit events of its answer are stored (src/audit/provider-events.ts), at most
 * for a bounded time, and a failed audit write never fails the answer. Shown on real Postgres by holding a lock on
 * the audit table from a second connection (PGlite has one connection: a lock held there would hold everything).
 */
describeWith('postgres', 'audit events before the answer', () => {
  let server: TestServer;
  let admin: Awaited<ReturnType<typeof registerAdminClient>>;
  const lines: string[] = [];
  const logger = (() => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    return createLogger('info', { stream });
  })();

  beforeAll(async () => {
    server = await startTestServer({ logger });
    admin = await registerAdminClient(server);
  });
  afterAll(async () => server?.destroy());

  const db = (): Knex => server.context.database.db;
  const requestId = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
  const tokenRequest = (id: string) => postForm(server, '/token', { grant_type: 'client_credentials', scope: 'admin' }, admin, { 'x-request-id': id });
  const eventsOf = async (id: string) =>
    (await server.context.queries.audit.list({ request_id: id, limit: 10 })).map((event) => `${event.type}:${event.outcome}`);
  /** Runs `body` while another connection holds a lock that makes every INSERT into audit_events wait. */
  async function withAuditTableLocked<T>(body: () => Promise<T>): Promise<T> {
    const lock = await db().transaction();
    try {
      await lock.raw('LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE');
      return await body();
    } finally {
      await lock.commit();
    }
  }
  const within = <T>(promise: Promise<T>, ms: number) =>
    Promise.race([promise.then(() => 'settled' as const), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

  test('a token answer waits while its audit INSERT cannot run, and its event is stored when it arrives', async () => {
    const id = requestId('held');
    let answer!: ReturnType<typeof tokenRequest>;
    await withAuditTableLocked(async () => {
      answer = tokenRequest(id);
      expect(await within(answer, 1000)).toBe('pending');
    });
    expect((await answer).status).toBe(200);
    // Read at once: stored before the answer left, not some time after.
    expect(await eventsOf(id)).toEqual(['OAuthTokenIssue:success']);
  });

  test('the wait is bounded: past maxWaitMs the caller goes on (logged), and the event still lands afterwards', async () => {
    const audit = auditLog(server.context.queries.audit, logger, { maxWaitMs: 300 });
    const id = requestId('bounded');
    let waitedMs = 0;
    await withAuditTableLocked(async () => {
      const stored = audit.record({ type: 'OAuthTokenIssue', actor: 'client:bounded', requestId: id });
      const started = performance.now();
      await audit.settle([stored]);
      waitedMs = performance.now() - started;
      expect(await eventsOf(id)).toEqual([]); // not stored yet: the INSERT still waits for the lock
    });
    expect(waitedMs).toBeGreaterThanOrEqual(290);
    expect(waitedMs).toBeLessThan(3000);
    expect(lines.some((line) => JSON.parse(line).message === 'answered before its audit events were stored')).toBe(true);
    await audit.flush();
    expect(await eventsOf(id)).toEqual(['OAuthTokenIssue:success']);
  });

  test('an audit INSERT that fails does not fail the answer; the failure is logged', async () => {
    // A constraint that refuses exactly this event type (NOT VALID: existing rows are not checked).
    await db().raw("ALTER TABLE audit_events ADD CONSTRAINT refuse_token_issue CHECK (type <> 'OAuthTokenIssue') NOT VALID");
    const id = requestId('refused');
    const from = lines.length;
    try {
      const answer = await tokenRequest(id);
      expect(answer.status).toBe(200);
      expect(typeof answer.body.access_token).toBe('string');
    } finally {
      await db().raw('ALTER TABLE audit_events DROP CONSTRAINT refuse_token_issue');
    }
    expect(await eventsOf(id)).toEqual([]);
    const failures = lines.slice(from).map((line) => JSON.parse(line)).filter((entry) => entry.message === 'audit write failed');
    expect(failures).toEqual([expect.objectContaining({ type: 'OAuthTokenIssue', failed: 1 })]);
    expect(failures[0].error).toContain('refuse_token_issue');
  });
});
