import type { Knex } from 'knex';

/**
 * The consumer side: linked external accounts, the single-use authorization states of their flows,
 * their error log (for `error_count_24h`) and the workspaces' mailbox settings.
 * Every token and password column holds AES-256-GCM ciphertext bound to the row's identity (src/integrations/sealing.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('integration_connections', (t) => {
    t.uuid('id').primary();
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('CASCADE');
    t.text('actor_type').notNullable(); // 'user' | 'api_key'
    t.text('actor_id').notNullable();
    t.text('provider').notNullable();
    t.text('purpose').notNullable();
    t.text('status').notNullable(); // 'active' | 'needs_reauth' | 'revoked'
    t.text('provider_subject');
    t.text('provider_email');
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.text('access_token_enc');
    t.text('refresh_token_enc');
    t.text('token_type');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('connected_at', { useTz: true }).notNullable();
    t.timestamp('last_refreshed_at', { useTz: true });
    t.timestamp('last_success_at', { useTz: true });
    t.text('last_error');
    t.timestamp('last_error_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workspace_id', 'actor_type', 'actor_id', 'provider', 'purpose']);
    t.index(['status', 'expires_at']);
  });

  await knex.schema.createTable('integration_errors', (t) => {
    t.bigIncrements('id');
    t.uuid('connection_id').notNullable().references('id').inTable('integration_connections').onDelete('CASCADE');
    t.text('code').notNullable();
    t.text('message');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['connection_id', 'occurred_at']);
  });

  // `state` is a bearer value on the callback: stored as its SHA-256, the PKCE verifier encrypted.
  await knex.schema.createTable('oauth_states', (t) => {
    t.text('state_hash').primary();
    t.text('provider').notNullable();
    t.text('workspace_id').notNullable();
    t.text('actor_type').notNullable();
    t.text('actor_id').notNullable();
    t.text('purpose').notNullable();
    t.text('return_to');
    t.text('code_verifier_enc');
    t.text('nonce');
    t.jsonb('scopes').notNullable().defaultTo('[]');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });

  await knex.schema.createTable('integration_mailboxes', (t) => {
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('CASCADE');
    t.text('purpose').notNullable();
    t.text('auth_method').notNullable(); // 'password' | 'oauth2' | 'app_password'
    t.text('email');
    t.text('username').notNullable();
    t.text('imap_host').notNullable();
    t.integer('imap_port').notNullable();
    t.text('imap_security').notNullable(); // 'tls' | 'starttls' | 'none'
    t.text('smtp_host').notNullable();
    t.integer('smtp_port').notNullable();
    t.text('smtp_security').notNullable();
    t.text('password_enc');
    t.uuid('connection_id').references('id').inTable('integration_connections').onDelete('SET NULL');
    t.boolean('use_idle').notNullable().defaultTo(false);
    t.timestamp('last_check_at', { useTz: true });
    t.timestamp('last_success_at', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['workspace_id', 'purpose']);
    t.index(['connection_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['integration_mailboxes', 'oauth_states', 'integration_errors', 'integration_connections']) {
    await knex.schema.dropTableIfExists(table);
  }
}
