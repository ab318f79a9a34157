import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
 * the secret is `whsec_` + base64 of random bytes; the signature is HMAC-SHA256, keyed with the decoded bytes, over
 * `${webhook-id}.${webhook-timestamp}.${body}`, sent as `webhook-signature: v1,<base64>`. Receivers verify it with any
 * Standard Webhooks library (the tests use the `standardwebhooks` package as an independent implementation).
 */
const SECRET_PREFIX = 'whsec_';

/** A new secret: 32 random bytes (the spec asks for 24 to 64). */
export const newWebhookSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** Associated data sealing a subscription's secret to its row (src/crypto/keyring.ts). */
export const webhookSecretAad = (subscriptionId: string): string => JSON.stringify(['webhook_subscription', subscriptionId, 'secret']);

/** The `webhook-signature` header value for one message. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('not a Standard Webhooks secret');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${signature}`;
}

/** The three Standard Webhooks headers of one attempt. */
export const webhookHeaders = (secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestampSeconds),
  'webhook-signature': signWebhook(secret, id, timestampSeconds, body),
});
