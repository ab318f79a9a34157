import type { Knex } from 'knex';

/**
 * Deleting a user or client drops its links in progress (`oauthStates.deleteOfActor`): without an index that
 * DELETE scans every pending state. The table holds only links started in the last few minutes, so a plain
 * (locking) build is short; it runs in the migration's transaction.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oauth_states', (t) => {
    t.index(['actor_type', 'actor_id'], 'oauth_states_actor_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oauth_states', (t) => {
    t.dropIndex(['actor_type', 'actor_id'], 'oauth_states_actor_index');
  });
}
