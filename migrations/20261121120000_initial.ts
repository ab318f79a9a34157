import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workspaces', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary();
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('RESTRICT');
    t.text('email').notNullable();
    // Lower-cased email: unique per deployment.
    t.text('email_normalized').notNullable().unique();
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('name');
    t.text('password_hash').notNullable();
    t.jsonb('roles').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id']);
  });

  await knex.schema.createTable('clients', (t) => {
    t.text('client_id').primary();
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('RESTRICT');
    // RFC 7591 metadata plus our extensions; never holds the secret itself.
    t.jsonb('metadata').notNullable();
    // SHA-256 of the secret (the usual case), or the secret encrypted when the client needs it as a key (HS256).
    t.text('secret_hash');
    t.text('secret_encrypted');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id']);
  });

  // oidc-provider artifacts (grants, refresh tokens, sessions, and the short-lived ones when Redis is absent).
  // `id` is the SHA-256 of the artifact's value for bearer artifacts, so a dump of this table grants nothing.
  await knex.schema.createTable('oidc_models', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('uid');
    t.text('user_code');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
    t.index(['grant_id']);
    t.index(['expires_at']);
  });
  await knex.raw('CREATE INDEX oidc_models_uid_index ON oidc_models (model, uid) WHERE uid IS NOT NULL');
  await knex.raw('CREATE INDEX oidc_models_user_code_index ON oidc_models (model, user_code) WHERE user_code IS NOT NULL');

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.text('private_jwk_encrypted').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Set when a newer key replaces this one: it stays published for verification until then.
    t.timestamp('retire_at', { useTz: true });
  });

  await knex.schema.createTable('resource_servers', (t) => {
    t.text('id').primary();
    t.text('identifier').notNullable().unique();
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('RESTRICT');
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.integer('access_token_ttl');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['resource_servers', 'signing_keys', 'oidc_models', 'clients', 'users', 'workspaces']) {
    await knex.schema.dropTableIfExists(table);
  }
}
