import type { Knex } from 'knex';

/**
 * client_credentials tokens share the `AccessToken` namespace with user access tokens (src/oidc/adapter/adapter.ts,
 * STORED_AS): a token value has one kind, so the two lookups oidc-provider makes for every bearer token read one
 * row. Keys are hashes of distinct random values, so the renamed rows cannot collide. The payload keeps its `kind`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex('oidc_models').where({ model: 'ClientCredentials' }).update({ model: 'AccessToken' });
}

export async function down(knex: Knex): Promise<void> {
  await knex('oidc_models').where({ model: 'AccessToken' }).whereRaw("payload->>'kind' = 'ClientCredentials'").update({ model: 'ClientCredentials' });
}
