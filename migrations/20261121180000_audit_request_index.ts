import type { Knex } from 'knex';

/**
 * Every event carries the id of the request that caused it (`X-Request-Id`): `GET /admin/audit?request_id=`
 * finds them without a scan, to follow one request from the access log to what it did.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX audit_events_request_index ON audit_events (request_id, id) WHERE request_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX audit_events_request_index');
}
