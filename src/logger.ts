import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

/**
 * The request a log line is written for. A carrier of context, like oidc-provider's own AsyncLocalStorage, not a
 * dependency: `withRequestId` (src/http/request-context.ts) runs each request inside it, and every logger made by
 * createLogger stamps the id on each line written meanwhile, however deep the code that writes it.
 * https://nodejs.org/api/async_context.html#class-asynclocalstorage
 */
const requestScope = new AsyncLocalStorage<string>();
export const withRequestId = <T>(requestId: string, run: () => T): T => requestScope.run(requestId, run);

const requestIdFormat = winston.format((info) => {
  const requestId = requestScope.getStore();
  if (requestId !== undefined && info.requestId === undefined) info.requestId = requestId;
  return info;
});

/** Keys whose values never reach a log line, at any depth. */
const SECRET_KEYS = /^(password|client_secret|secret|token|access_token|refresh_token|id_token|code|code_verifier|assertion|authorization|cookie|set-cookie|private_jwk.*|encryption_keys)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, SECRET_KEYS.test(key) ? '[redacted]' : redact(inner, depth + 1)]),
  );
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
    else info[key] = redact(info[key]);
  }
  return info;
});

/** JSON lines on stdout (or the given stream). Callers pass structured fields; secrets are redacted by key name as a backstop. */
export function createLogger(level: string, options: { silent?: boolean; stream?: NodeJS.WritableStream } = {}): winston.Logger {
  return winston.createLogger({
    level,
    silent: options.silent,
    format: winston.format.combine(requestIdFormat(), redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console()],
  });
}
