import { errors } from 'oidc-provider';
import { isStoreUnavailable } from '../db/unavailable.js';

/**
 * oidc-provider answers an error that carries status 503 as `temporarily_unavailable` and anything without a
 * status as a 500 `server_error` (DESIGN.md, "facts that bite").
 */
export function temporarilyUnavailable(): errors.TemporarilyUnavailable {
  const error = new errors.TemporarilyUnavailable('the authorization server storage is unavailable, try again later');
  Object.assign(error, { status: 503, statusCode: 503, expose: true });
  return error;
}

/**
 * The same object with every method turned outage-aware: a store that cannot be reached throws the 503 above.
 * For what provider hooks (findAccount, extraTokenClaims, resource indicators, custom grants) query themselves,
 * outside the adapter; a cached client means such a query can be the first to meet an outage.
 */
export function outageAware<T extends { [K in keyof T]: (...args: never[]) => Promise<unknown> }>(target: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(target)) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (value as (...a: unknown[]) => unknown).apply(target, args);
      } catch (error) {
        throw isStoreUnavailable(error) ? temporarilyUnavailable() : error;
      }
    };
  }
  return wrapped as T;
}
