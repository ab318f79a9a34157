import type { Principal } from '../http/bearer-auth.js';
import type { ActorType } from '../queries/connections.js';

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
