import type { Principal } from '../http/bearer-auth.js';
import type { ClientQueries } from '../queries/clients.js';
import type { ActorType } from '../queries/connections.js';
import type { UserQueries } from '../queries/users.js';

export interface IntegrationActor {
  workspace_id: string;
  actor_type: ActorType;
  actor_id: string;
}

/**
 * CONTRACT.md: a user token acts as `user:<sub>`, a client_credentials token as `api_key:<client_id>`,
 * each in the workspace of that user or client.
 */
export const actorOf = (principal: Principal): IntegrationActor =>
  principal.kind === 'user'
    ? { workspace_id: principal.workspaceId, actor_type: 'user', actor_id: principal.accountId! }
    : { workspace_id: principal.workspaceId, actor_type: 'api_key', actor_id: principal.clientId };

export const actorLabel = (actor: IntegrationActor): string => `${actor.actor_type}:${actor.actor_id}`;

/** Whether an actor still exists, in its workspace (a link finishing after its owner was deleted must not be stored). */
export interface ActorDirectory {
  exists(actor: IntegrationActor): Promise<boolean>;
}

export function actorDirectory(store: { users: Pick<UserQueries, 'findById'>; clients: Pick<ClientQueries, 'find'> }): ActorDirectory {
  return {
    async exists(actor) {
      const row = actor.actor_type === 'user' ? await store.users.findById(actor.actor_id) : await store.clients.find(actor.actor_id);
      return row?.workspace_id === actor.workspace_id;
    },
  };
}
