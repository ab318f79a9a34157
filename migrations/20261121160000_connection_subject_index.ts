import type { Knex } from 'knex';

/**
 * Google RISC events name the account by its subject, or by its email when they carry no subject: find its
 * links without a scan (src/queries/connections.ts `findBySubject`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX integration_connections_subject_index ON integration_connections (provider_subject) WHERE provider_subject IS NOT NULL');
  await knex.raw('CREATE INDEX integration_connections_email_index ON integration_connections (lower(provider_email)) WHERE provider_email IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX integration_connections_subject_index');
  await knex.raw('DROP INDEX integration_connections_email_index');
}
