import type { Knex } from 'knex';

/** Admin API, grant management and audit log (issue 3). */
export async function up(knex: Knex): Promise<void> {
  // Grants and sessions indexed by who they belong to, so "the apps this user authorized", "every grant of
  // this client" and "the sessions that list this grant" are index lookups, not payload scans.
  await knex.schema.alterTable('oidc_models', (t) => {
    t.text('account_id');
    t.text('client_id');
    // Grants only: when a token of the grant was last issued or introspected (updated at most once a minute).
    t.timestamp('last_used_at', { useTz: true });
  });
  // Rows written before this migration: take the owners from the payload.
  await knex('oidc_models')
    .whereNull('account_id')
    .andWhere((q) => q.whereRaw("payload->>'accountId' IS NOT NULL").orWhereRaw("payload->>'clientId' IS NOT NULL"))
    .update({ account_id: knex.raw("payload->>'accountId'"), client_id: knex.raw("payload->>'clientId'") });
  await knex.raw('CREATE INDEX oidc_models_account_index ON oidc_models (model, account_id) WHERE account_id IS NOT NULL');
  await knex.raw('CREATE INDEX oidc_models_client_index ON oidc_models (model, client_id) WHERE client_id IS NOT NULL');

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('type').notNullable();
    t.text('outcome').notNullable();
    // Who acted: `user:<id>`, `client:<id>`, `admin:<client id>`, `system`.
    t.text('actor').notNullable();
    t.text('workspace_id');
    t.text('client_id');
    t.text('account_id');
    t.text('ip');
    t.text('request_id');
    // Non-secret context (grant id, scopes, error code, changed fields). Never a token or secret.
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['created_at']);
    t.index(['type', 'id']);
    t.index(['client_id', 'id']);
    t.index(['account_id', 'id']);
    t.index(['actor', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
  await knex.raw('DROP INDEX IF EXISTS oidc_models_account_index');
  await knex.raw('DROP INDEX IF EXISTS oidc_models_client_index');
  await knex.schema.alterTable('oidc_models', (t) => {
    t.dropColumn('account_id');
    t.dropColumn('client_id');
    t.dropColumn('last_used_at');
  });
}
