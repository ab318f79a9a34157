import type { Knex } from 'knex';

/**
 * Every event carries the id of the request that caused it (`X-Request-Id`): `GET /admin/audit?request_id=`
 * finds them without a scan, to follow one request from the access log to what it did.
 *
 * On Postgres the index is built CONCURRENTLY, so audit INSERTs (which the provider's answers wait for) go on while
 * it builds on a large table; that cannot run in a transaction. A build that failed leaves an invalid index behind:
 * it is dropped first. PGlite (one connection, no other writer) builds it plainly.
 * https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
 */
export const config = { transaction: false };

const onPostgres = (knex: Knex) => knex.client.config.client === 'pg';

export async function up(knex: Knex): Promise<void> {
  const concurrently = onPostgres(knex) ? 'CONCURRENTLY ' : '';
  await knex.raw(`DROP INDEX ${concurrently}IF EXISTS audit_events_request_index`);
  await knex.raw(`CREATE INDEX ${concurrently}audit_events_request_index ON audit_events (request_id, id) WHERE request_id IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX ${onPostgres(knex) ? 'CONCURRENTLY ' : ''}IF EXISTS audit_events_request_index`);
}
