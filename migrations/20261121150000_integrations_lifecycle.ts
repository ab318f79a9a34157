import type { Knex } from 'knex';

/**
 * Integrations lifecycle: a refresh lease per connection (owner + expiry, so N instances refresh each connection
 * once and only the owner releases it), outbound webhook subscriptions and their delivery log, and the mailbox
 * check's error counter.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('integration_connections', (t) => {
    t.text('refresh_lease_owner');
    t.timestamp('refresh_lease_until', { useTz: true });
    t.integer('refresh_failures').notNullable().defaultTo(0);
    t.timestamp('next_refresh_at', { useTz: true });
    t.index(['status', 'next_refresh_at']);
  });

  await knex.schema.createTable('webhook_subscriptions', (t) => {
    t.uuid('id').primary();
    t.text('workspace_id').notNullable().references('id').inTable('workspaces').onDelete('CASCADE');
    t.text('url').notNullable();
    t.jsonb('events').notNullable();
    // Standard Webhooks secret (`whsec_…`), encrypted: it signs, so it must be readable by us.
    t.text('secret_enc').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workspace_id']);
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary(); // also the `webhook-id` header: receivers deduplicate on it
    t.uuid('subscription_id').notNullable().references('id').inTable('webhook_subscriptions').onDelete('CASCADE');
    t.text('event').notNullable();
    t.jsonb('payload').notNullable();
    t.text('status').notNullable(); // 'pending' | 'delivered' | 'failed'
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['subscription_id', 'created_at']);
    t.index(['status', 'next_attempt_at']);
  });

  await knex.schema.alterTable('integration_mailboxes', (t) => {
    t.integer('error_count').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('integration_mailboxes', (t) => t.dropColumn('error_count'));
  await knex.schema.dropTableIfExists('webhook_deliveries');
  await knex.schema.dropTableIfExists('webhook_subscriptions');
  await knex.schema.alterTable('integration_connections', (t) => {
    t.dropIndex(['status', 'next_refresh_at']);
    for (const c of ['refresh_lease_owner', 'refresh_lease_until', 'refresh_failures', 'next_refresh_at']) t.dropColumn(c);
  });
}
