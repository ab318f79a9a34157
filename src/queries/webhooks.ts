import type { Knex } from 'knex';

/** One outbound webhook subscription of a workspace (migrations/20261121150000_integrations_lifecycle.ts). */
export interface WebhookSubscriptionRow {
  id: string;
  workspace_id: string;
  url: string;
  events: string[];
  /** The Standard Webhooks secret (`whsec_…`), sealed with the key ring (src/webhooks/signing.ts `webhookSecretAad`). */
  secret_enc: string;
  created_at: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event sent (or being sent) to one subscription; its id is the `webhook-id` header. */
export interface WebhookDeliveryRow {
  id: string;
  subscription_id: string;
  event: string;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

/** What an attempt changes (the attempt counter is set to `expectedAttempts + 1`). */
export interface DeliveryAttempt {
  status: DeliveryStatus;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
}

/** Keyset position in a newest-first delivery log. */
export interface DeliveryCursor {
  created_at: Date;
  id: string;
}

export function webhookQueries(db: Knex) {
  return {
    async insert(row: Omit<WebhookSubscriptionRow, 'created_at'> & { created_at?: Date }): Promise<WebhookSubscriptionRow> {
      const [inserted] = await db('webhook_subscriptions')
        .insert({ ...row, events: JSON.stringify(row.events) })
        .returning('*');
      return inserted;
    },
    /** A workspace's subscriptions, by id, keyset-paged. `afterId` must be a UUID (the routes check a cursor's key first). */
    async list(workspaceId: string, afterId: string | undefined, limit: number): Promise<WebhookSubscriptionRow[]> {
      const q = db('webhook_subscriptions').where({ workspace_id: workspaceId }).orderBy('id').limit(limit);
      if (afterId !== undefined) q.where('id', '>', afterId);
      return q.select('*');
    },
    /** One subscription, only within its workspace. */
    async find(workspaceId: string, id: string): Promise<WebhookSubscriptionRow | undefined> {
      return db('webhook_subscriptions').where({ workspace_id: workspaceId, id }).first();
    },
    /** By id alone (the delivery worker, which has only the delivery's subscription id). */
    async findById(id: string): Promise<WebhookSubscriptionRow | undefined> {
      return db('webhook_subscriptions').where({ id }).first();
    },
    /** Deletes a subscription (its deliveries go with it: ON DELETE CASCADE). */
    async delete(workspaceId: string, id: string): Promise<number> {
      return db('webhook_subscriptions').where({ workspace_id: workspaceId, id }).delete();
    },
    /** The workspace's subscriptions listening to `event`. */
    async forEvent(workspaceId: string, event: string): Promise<WebhookSubscriptionRow[]> {
      return db('webhook_subscriptions')
        .where({ workspace_id: workspaceId })
        .whereRaw('events @> ?::jsonb', [JSON.stringify([event])])
        .orderBy('id')
        .select('*');
    },

    /** Key rotation (src/crypto/reencrypt.ts): subscriptions by id, keyset-paged. */
    async pageEncrypted(afterId: string | undefined, limit: number): Promise<Array<Pick<WebhookSubscriptionRow, 'id' | 'secret_enc'>>> {
      const q = db('webhook_subscriptions').orderBy('id').limit(limit);
      if (afterId !== undefined) q.where('id', '>', afterId);
      return q.select('id', 'secret_enc');
    },
    /** Compare-and-set of the sealed secret: false when someone else changed it meanwhile. */
    async replaceSecret(id: string, expected: string, next: string): Promise<boolean> {
      return (await db('webhook_subscriptions').where({ id, secret_enc: expected }).update({ secret_enc: next })) > 0;
    },

    /**
     * A new `pending` delivery. `created_at` is written from the caller's clock (millisecond precision), so the
     * log's keyset cursor, which travels as a JS date, matches the stored value exactly.
     */
    async insertDelivery(row: { id: string; subscription_id: string; event: string; payload: unknown; created_at: Date }): Promise<WebhookDeliveryRow> {
      const [inserted] = await db('webhook_deliveries')
        .insert({ ...row, payload: JSON.stringify(row.payload), status: 'pending', attempts: 0 })
        .returning('*');
      return inserted;
    },
    async findDelivery(id: string): Promise<WebhookDeliveryRow | undefined> {
      return db('webhook_deliveries').where({ id }).first();
    },
    /**
     * Records one attempt, if the delivery is still pending at `expectedAttempts` (a duplicate run of the same job
     * finds it changed and writes nothing). True when written.
     */
    async recordAttempt(id: string, expectedAttempts: number, attempt: DeliveryAttempt): Promise<boolean> {
      const updated = await db('webhook_deliveries')
        .where({ id, status: 'pending', attempts: expectedAttempts })
        .update({ ...attempt, attempts: expectedAttempts + 1 });
      return updated > 0;
    },
    /**
     * One subscription's delivery log, newest first, keyset-paged on (created_at, id). `before` must hold a time
     * Postgres can store and a UUID (the route checks a cursor's key first: src/admin/webhooks.ts).
     */
    async listDeliveries(subscriptionId: string, before: DeliveryCursor | undefined, limit: number): Promise<WebhookDeliveryRow[]> {
      const q = db('webhook_deliveries').where({ subscription_id: subscriptionId }).orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ]);
      if (before) q.whereRaw('(created_at, id) < (?, ?)', [before.created_at, before.id]);
      return q.limit(limit).select('*');
    },
    /** Pending deliveries (to queue again after a restart of the in-process queue), oldest first. */
    async pendingDeliveries(limit: number): Promise<WebhookDeliveryRow[]> {
      return db('webhook_deliveries').where({ status: 'pending' }).orderBy('created_at').limit(limit).select('*');
    },
    /** Retention: deletes finished deliveries created before `cutoff`. */
    async deleteDeliveriesOlderThan(cutoff: Date): Promise<number> {
      return db('webhook_deliveries').where('created_at', '<', cutoff).whereIn('status', ['delivered', 'failed']).delete();
    },
  };
}

export type WebhookQueries = ReturnType<typeof webhookQueries>;
