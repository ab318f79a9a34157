import type { Knex } from 'knex';
import * as initial from './20261121120000_initial.js';
import * as adminAudit from './20261121130000_admin_audit.js';
import * as integrations from './20261121140000_integrations.js';
import * as integrationsLifecycle from './20261121150000_integrations_lifecycle.js';
import * as connectionSubjectIndex from './20261121160000_connection_subject_index.js';
import * as accessTokenNamespace from './20261121170000_access_token_namespace.js';
import * as auditRequestIndex from './20261121180000_audit_request_index.js';
import * as oauthStatesActorIndex from './20261122120000_oauth_states_actor_index.js';

/** Every migration, by name. Add new ones here; never edit one that has landed. */
export const migrations: Record<string, Knex.Migration> = {
  '20261121120000_initial': initial,
  '20261121130000_admin_audit': adminAudit,
  '20261121140000_integrations': integrations,
  '20261121150000_integrations_lifecycle': integrationsLifecycle,
  '20261121160000_connection_subject_index': connectionSubjectIndex,
  '20261121170000_access_token_namespace': accessTokenNamespace,
  '20261121180000_audit_request_index': auditRequestIndex,
  '20261122120000_oauth_states_actor_index': oauthStatesActorIndex,
};
