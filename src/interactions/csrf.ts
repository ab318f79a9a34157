import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { constantTimeEqual } from '../crypto/secrets.js';
import { forbidden } from '../http/errors.js';

/**
 * Interaction forms are bound three ways: the provider's signed `_interaction` cookie (SameSite=Lax), a
 * per-interaction HMAC token in the form, and an Origin check when the browser sends one.
 */
export function interactionCsrf(secret: Buffer, issuer: string) {
  const issuerOrigin = new URL(issuer).origin;
  const tokenFor = (uid: string) => createHmac('sha256', secret).update(`interaction-csrf:${uid}`).digest('base64url');
  return {
    tokenFor,
    verify(ctx: Context, uid: string, submitted: unknown): void {
      const origin = ctx.get('origin');
      if (origin && origin !== 'null' && origin !== issuerOrigin) {
        throw forbidden('cross-origin form submission refused', 'invalid_request');
      }
      if (typeof submitted !== 'string' || !constantTimeEqual(submitted, tokenFor(uid))) {
        throw forbidden('the form expired or was not issued by this server; go back and try again', 'invalid_request');
      }
    },
  };
}
