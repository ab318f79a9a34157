import { SYSTEM } from '../audit/origin.js';
import { mailboxChecker } from './mail-check/service.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { ActorType, ConnectionRow } from '../queries/connections.js';
import { actorLabel, type IntegrationActor } from './actor.js';
import { connectFlow } from './connect-flow.js';
import { toConnectionView } from './connection-view.js';
import type { IntegrationDeps } from './deps.js';
import { disconnectFlow } from './disconnect.js';
import { mailboxService } from './mailboxes.js';
import { noConnection, toProviderView } from './providers.js';
import { tokenVending } from './token-vending.js';

/** The consumer side, composed from its flows; routes and the account page call this. */
export function integrationService(deps: IntegrationDeps) {
  const { settings, connections, oauthStates, clock } = deps;
  const connect = connectFlow(deps);
  const vending = tokenVending(deps);
  const disconnect = disconnectFlow(deps);

  return {
    providers: () => Object.values(settings.providers).map((entry) => toProviderView(entry, settings.issuer)),
    authorize: connect.authorize,
    callback: connect.callback,
    token: vending.token,
    runScheduled: vending.runScheduled,
    /** Queues every connection due soon (the minute planner's work; exposed for tests and operators). */
    planDue: deps.planDue,

    /** The actor's connection, even of a provider no longer configured (revocation at the provider is then skipped). */
    async disconnect(actor: IntegrationActor, provider: string, purpose: string, origin: AuditOrigin) {
      const row = await connections.find({ ...actor, provider, purpose });
      if (!row) throw noConnection(settings.providers, provider, purpose, actorLabel(actor));
      return disconnect.disconnect(row, origin);
    },
    mailboxes: mailboxService(deps),
    mailCheck: mailboxChecker({
      mailboxes: deps.mailboxes,
      connections,
      keyring: deps.keyring,
      vendToken: async (connection) => (await vending.token(connection, connection.provider, { purpose: connection.purpose }, SYSTEM)).access_token,
      clock,
      logger: deps.logger,
      outbound: deps.outbound,
    }),

    async list(actor: IntegrationActor, options: { after?: string; limit: number; provider?: string }) {
      const rows = await connections.listForActor(actor, { ...options, now: new Date(clock()) });
      return rows.map(toConnectionView);
    },

    async status(actor: IntegrationActor, provider: string, purpose: string) {
      const row = await connections.findWithHealth({ ...actor, provider, purpose }, new Date(clock()));
      if (!row) throw noConnection(settings.providers, provider, purpose, actorLabel(actor));
      return toConnectionView(row);
    },

    /**
     * A deleted user or client loses its linked accounts: its links in progress are dropped (their callbacks then
     * store nothing) and each connection is disconnected (revoked at the provider where it can be), so no refresh
     * token outlives its owner. Returns how many connections.
     */
    async disconnectAllOfActor(actorType: ActorType, actorId: string, origin: AuditOrigin): Promise<number> {
      // States first: a callback that takes one after this point finds none.
      await oauthStates.deleteOfActor(actorType, actorId);
      let count = 0;
      for (const row of await connections.listLiveOfActor(actorType, actorId)) {
        try {
          await disconnect.disconnect(row, origin);
          count += 1;
        } catch (error) {
          deps.logger.warn('disconnecting a deleted actor\'s connection failed', { connection_id: row.id, error: (error as Error).message });
        }
      }
      return count;
    },

    /** One of the actor's own connections by id; another actor's or workspace's does not exist from here. */
    async findOwn(actor: IntegrationActor, id: string) {
      const row = await connections.findById(id);
      const own = row && row.workspace_id === actor.workspace_id && row.actor_type === actor.actor_type && row.actor_id === actor.actor_id;
      return own ? row : undefined;
    },

    /** Connection view right after a change (health counters included). */
    async view(row: ConnectionRow) {
      return toConnectionView((await connections.findWithHealth(row, new Date(clock()))) ?? row);
    },
  };
}

export type IntegrationService = ReturnType<typeof integrationService>;
