/**
 * Whether an error says a backing store (Postgres, Redis) cannot be reached right now, as opposed to a bug or bad
 * input. Such errors answer 503 `temporarily_unavailable` and go away by themselves when the store is back.
 */
// Postgres SQLSTATE: class 08 connection exceptions; 57P01-57P03 admin shutdown, crash shutdown, cannot connect
// now (starting up, shutting down, recovering); 53300 too many connections.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const POSTGRES_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;
// The socket errors pg and ioredis pass up as they are.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
// knex: pool acquire timeout; ioredis: a command given up after its reconnection attempts, a cluster with no node.
const ERROR_NAMES = new Set(['KnexTimeoutError', 'MaxRetriesPerRequestError', 'ClusterAllFailedError']);
// pg and ioredis messages for a connection that went away under a query (or a pg.Pool that could not get one in
// time), or for a command refused or unanswered while ioredis reconnects (src/db/redis.ts: no offline queue, a
// command timeout).
const MESSAGES =
  /^(Connection terminated( unexpectedly)?|timeout exceeded when trying to connect|Connection is closed\.|Client has encountered a connection error and is not queryable|Command timed out|(Stream isn't writeable|Cluster isn't ready) and enableOfflineQueue options is false)$/;

export function isStoreUnavailable(thrown: unknown): boolean {
  if (!thrown || typeof thrown !== 'object') return false;
  const error = thrown as { name?: unknown; code?: unknown; message?: unknown; errors?: unknown };
  if (typeof error.name === 'string' && ERROR_NAMES.has(error.name)) return true;
  if (typeof error.code === 'string' && (SOCKET_CODES.has(error.code) || POSTGRES_UNAVAILABLE.test(error.code))) return true;
  if (typeof error.message === 'string' && MESSAGES.test(error.message)) return true;
  // Node reports a refused connection to every address of a host as one AggregateError.
  return Array.isArray(error.errors) && error.errors.length > 0 && error.errors.every(isStoreUnavailable);
}
