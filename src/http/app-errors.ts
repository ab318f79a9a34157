import type { EventEmitter } from 'node:events';
import type { Logger } from 'winston';

/**
 * Errors a client causes on its own connection: bytes the HTTP parser refuses (a Content-Length that does not
 * match the body, so the rest reads as a broken next request: `HPE_*`), a socket the client closed or reset
 * mid-request. Koa reports them through the app's `error` event, after or instead of an answer; they are no fault
 * of the server's. https://nodejs.org/api/errors.html#common-system-errors
 */
const CLIENT_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ECANCELED']);

const isClientConnectionError = (error: Error & { code?: unknown; status?: unknown }): boolean =>
  (typeof error.code === 'string' && (error.code.startsWith('HPE_') || CLIENT_CONNECTION_CODES.has(error.code))) ||
  error.message === 'aborted' ||
  (typeof error.status === 'number' && error.status < 500);

/**
 * One `error` listener for our Koa app and for oidc-provider's (which is a Koa app too, run through its own
 * callback): without one, Koa prints the stack to stderr, outside the JSON log. The provider's app and ours both
 * see an error of the response stream, so each error is logged once. Register before `callback()`: Koa adds its
 * own printing listener when an app has none at that point.
 */
export function logAppErrors(logger: Logger, ...apps: EventEmitter[]): void {
  const logged = new WeakSet<object>();
  const log = (error: Error & { code?: string }) => {
    if (error && typeof error === 'object') {
      if (logged.has(error)) return;
      logged.add(error);
    }
    if (isClientConnectionError(error)) logger.info('client connection error', { errorCode: error.code, error: error.message });
    else logger.error('unhandled koa error', { error: error?.message });
  };
  for (const app of apps) app.on('error', log);
}
