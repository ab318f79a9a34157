import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'winston';
import type { AuditLog } from '../audit/writer.js';
import type { KeyRing } from '../crypto/keyring.js';
import { toConnectionView } from '../integrations/connection-view.js';
import type { ConnectionEvent, ConnectionEvents } from '../integrations/events.js';
import type { JobQueue } from '../jobs/queue.js';
import type { ConnectionRow } from '../queries/connections.js';
import type { WebhookDeliveryRow, WebhookQueries, WebhookSubscriptionRow } from '../queries/webhooks.js';
import { DestinationRefused, SPECIAL_USE_REFUSAL, type OutboundPolicy } from '../net/outbound-policy.js';
import { webhookHeaders, webhookSecretAad } from './signing.js';

export const WEBHOOK_DELIVERY_QUEUE = 'webhook-delivery';
const RETENTION_QUEUE = 'webhook-retention';
const USER_AGENT = 'oauth-hub-webhooks/1';
/** Longest `last_error` kept (a receiver's or the network's message, never a secret of ours). */
const MAX_ERROR_LENGTH = 500;
const HOUR_MS = 3600_000;

export interface WebhookDispatcherOptions {
  webhooks: WebhookQueries;
  keyring: KeyRing;
  queue: JobQueue;
  /**
   * Where deliveries may connect (src/net/outbound-policy.ts): a receiver whose address is special-use (loopback,
   * private, link-local, …) and not allowed by it gets nothing; that delivery fails at once, without retries.
   */
  outbound: OutboundPolicy;
  clock: () => number;
  logger: Logger;
  audit: AuditLog;
  /** Attempts after the first, with delays doubling from `retryDelaySeconds` (pg-boss wants whole seconds). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** Per attempt: connect, send and the receiver's answer. */
  timeoutMs?: number;
  /** Finished deliveries older than this are deleted (hourly, by `start`'s scheduled job, or `prune()`). */
  retentionDays?: number;
}

export interface WebhookDispatcher extends ConnectionEvents {
  /**
   * Runs deliveries on this instance (the queue's worker) and the hourly retention. `resumePending`: queue every
   * delivery still pending — for the in-process queue, whose jobs die with the process (pg-boss keeps its own).
   */
  start(options?: { resumePending?: boolean }): Promise<void>;
  /** Deletes finished deliveries past retention; returns how many. */
  prune(): Promise<number>;
  /** One attempt of one delivery (what the queue's worker runs); throws to have the queue retry. */
  deliver(deliveryId: string): Promise<void>;
}

/** Where the host is, without path or query: what logs and audit details may name (a URL's path can be a secret). */
const originOfUrl = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
};

/** A request failure as one line (ECONNREFUSED, a timeout, a TLS error). */
function describeFailure(error: unknown): string {
  const err = error as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  const message = err?.message || err?.code || String(error);
  const code = err?.code && !message.includes(err.code) ? err.code : (err?.cause?.code ?? err?.cause?.message);
  return (code ? `${message}: ${code}` : message).slice(0, MAX_ERROR_LENGTH);
}

/**
 * Outbound webhooks for connection lifecycle events, signed the Standard Webhooks way (./signing.ts). `emit` writes
 * one `pending` delivery per listening subscription of the connection's workspace and queues it; the worker POSTs
 * it, records each attempt in the delivery log and throws on failure so that the queue retries with backoff. After
 * the last attempt the delivery is `failed`. Each final outcome is one `WebhookDelivery` audit event.
 */
export function webhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { webhooks, keyring, queue, clock, logger, audit } = options;
  const retryLimit = options.retryLimit ?? 8;
  const retryDelaySeconds = options.retryDelaySeconds ?? 5;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retentionDays = options.retentionDays ?? 30;
  const { outbound } = options;

  const enqueue = (delivery: Pick<WebhookDeliveryRow, 'id' | 'attempts' | 'next_attempt_at'>) =>
    queue.send(
      WEBHOOK_DELIVERY_QUEUE,
      { deliveryId: delivery.id },
      {
        singletonKey: delivery.id,
        retryLimit: Math.max(0, retryLimit - delivery.attempts),
        retryDelaySeconds,
        ...(delivery.next_attempt_at ? { startAfter: new Date(delivery.next_attempt_at) } : {}),
      },
    );

  async function emitTo(subscription: WebhookSubscriptionRow, event: ConnectionEvent, connection: ConnectionRow): Promise<void> {
    const now = new Date(clock());
    const payload = { type: event, timestamp: now.toISOString(), data: toConnectionView(connection) };
    const delivery = await webhooks.insertDelivery({ id: randomUUID(), subscription_id: subscription.id, event, payload, created_at: now });
    await enqueue(delivery);
  }

  const finalAudit = (subscription: WebhookSubscriptionRow, delivery: WebhookDeliveryRow, outcome: 'success' | 'failure', statusCode: number | null, attempts: number) =>
    audit.record({
      type: 'WebhookDelivery',
      outcome,
      actor: 'system',
      workspaceId: subscription.workspace_id,
      details: { delivery_id: delivery.id, subscription_id: subscription.id, event: delivery.event, status_code: statusCode, attempts },
    });

  /**
   * One POST; the status code, or the reason it got none (`refused`: the outbound policy's, nothing was sent).
   * node:http rather than fetch so that the connection resolves through the policy's `lookup`: every address of
   * the receiver's name is checked and the socket goes to a checked one (no second lookup to rebind). IP literals
   * skip `lookup` and are checked here. Redirects are answers, not followed; TLS certificates are verified.
   */
  function post(url: string, headers: Record<string, string>, body: string): Promise<{ statusCode: number | null; error: string | null; refused?: boolean }> {
    const target = new URL(url);
    if (outbound.refusesLiteral(target.hostname)) return Promise.resolve({ statusCode: null, error: SPECIAL_USE_REFUSAL, refused: true });
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const request = client.request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: outbound.lookup,
          agent: false, // a connection per attempt: nothing pooled outlives the check of its address
          signal: AbortSignal.timeout(timeoutMs),
        },
        (response) => {
          // The body is not read: only the status counts (and reading would let a receiver hold us up).
          response.destroy();
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          resolve({ statusCode: status, error: ok ? null : `HTTP ${status}` });
        },
      );
      request.on('error', (error) =>
        resolve(error instanceof DestinationRefused ? { statusCode: null, error: error.message, refused: true } : { statusCode: null, error: describeFailure(error) }),
      );
      request.end(body);
    });
  }

  async function deliver(deliveryId: string): Promise<void> {
    const delivery = await webhooks.findDelivery(deliveryId);
    if (!delivery || delivery.status !== 'pending') return; // gone with its subscription, or already settled
    const subscription = await webhooks.findById(delivery.subscription_id);
    if (!subscription) return;
    const attempts = delivery.attempts + 1;
    const final = attempts > retryLimit;

    /** A failure no retry mends: the delivery is `failed` now, with why. */
    const failNow = async (lastError: string, log: () => void) => {
      if (await webhooks.recordAttempt(delivery.id, delivery.attempts, { status: 'failed', last_status_code: null, last_error: lastError, next_attempt_at: null, delivered_at: null })) {
        log();
        await finalAudit(subscription, delivery, 'failure', null, attempts);
      }
    };

    let secret: string;
    try {
      secret = keyring.decrypt(subscription.secret_enc, webhookSecretAad(subscription.id));
    } catch (error) {
      // No retry mends a key that left the ring: fail now, say why (the message names a key id, never a value).
      const lastError = `secret cannot be opened: ${(error as Error).message}`.slice(0, MAX_ERROR_LENGTH);
      await failNow(lastError, () => logger.error('webhook delivery failed: secret cannot be opened', { delivery_id: delivery.id, subscription_id: subscription.id }));
      return;
    }

    const body = JSON.stringify(delivery.payload);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      ...webhookHeaders(secret, delivery.id, Math.floor(clock() / 1000), body),
    };
    const { statusCode, error, refused } = await post(subscription.url, headers, body);
    if (refused) {
      // The outbound policy's answer does not change by asking again (only by configuration): fail now.
      await failNow(error!, () => logger.warn('webhook delivery refused: receiver address not allowed', { delivery_id: delivery.id, subscription_id: subscription.id, receiver: originOfUrl(subscription.url) }));
      return;
    }
    const now = new Date(clock());

    if (error === null) {
      if (await webhooks.recordAttempt(delivery.id, delivery.attempts, { status: 'delivered', last_status_code: statusCode, last_error: null, next_attempt_at: null, delivered_at: now })) {
        await finalAudit(subscription, delivery, 'success', statusCode, attempts);
      }
      return;
    }

    // The queue's backoff (memory queue and pg-boss double the delay each time; pg-boss adds jitter): an estimate.
    const nextAttemptAt = final ? null : new Date(now.getTime() + retryDelaySeconds * 1000 * 2 ** (attempts - 1));
    const recorded = await webhooks.recordAttempt(delivery.id, delivery.attempts, {
      status: final ? 'failed' : 'pending',
      last_status_code: statusCode,
      last_error: error,
      next_attempt_at: nextAttemptAt,
      delivered_at: null,
    });
    if (!recorded) return; // another run of this job recorded this attempt
    const context = { delivery_id: delivery.id, subscription_id: subscription.id, receiver: originOfUrl(subscription.url), attempts, status_code: statusCode, error };
    if (final) {
      logger.warn('webhook delivery failed for good', context);
      await finalAudit(subscription, delivery, 'failure', statusCode, attempts);
      return;
    }
    logger.info('webhook delivery attempt failed, will retry', context);
    throw new Error(`webhook delivery ${delivery.id} attempt ${attempts} failed: ${error}`);
  }

  async function prune(): Promise<number> {
    return webhooks.deleteDeliveriesOlderThan(new Date(clock() - retentionDays * 24 * HOUR_MS));
  }

  return {
    async emit(event, connection) {
      let subscriptions: WebhookSubscriptionRow[];
      try {
        subscriptions = await webhooks.forEvent(connection.workspace_id, event);
      } catch (error) {
        logger.error('webhook subscriptions could not be read; event not sent', { event, connection_id: connection.id, error: (error as Error).message });
        return;
      }
      for (const subscription of subscriptions) {
        try {
          await emitTo(subscription, event, connection);
        } catch (error) {
          logger.error('webhook delivery could not be queued', { event, connection_id: connection.id, subscription_id: subscription.id, error: (error as Error).message });
        }
      }
    },

    deliver,
    prune,

    async start(startOptions = {}) {
      await queue.work<{ deliveryId: string }>(WEBHOOK_DELIVERY_QUEUE, ({ deliveryId }) => deliver(deliveryId), { concurrency: 8 });
      let lastPrune = 0;
      await queue.everyMinute(RETENTION_QUEUE, async () => {
        if (clock() - lastPrune < HOUR_MS) return;
        lastPrune = clock();
        const deleted = await prune();
        if (deleted) logger.info('webhook deliveries past retention deleted', { deleted });
      });
      if (startOptions.resumePending) {
        for (const delivery of await webhooks.pendingDeliveries(10_000)) await enqueue(delivery);
      }
    },
  };
}
