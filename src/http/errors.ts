import type { Context, Next } from 'koa';
import type { Logger } from 'winston';
import { errorPage } from '../views/interaction-pages.js';
import { PAGE_CSP } from '../views/html.js';
import { isStoreUnavailable } from '../db/unavailable.js';

/** An error that carries its HTTP status and OAuth-style `error` code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'HttpError';
  }
}

export const badRequest = (description: string, code = 'invalid_request') => new HttpError(400, code, description);
export const forbidden = (description: string, code = 'forbidden') => new HttpError(403, code, description);
export const notFound = (description: string) => new HttpError(404, 'not_found', description);
export const conflict = (description: string, code = 'conflict') => new HttpError(409, code, description);

interface ExposedError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  error?: string;
  code?: string;
  error_description?: string;
  message?: string;
  headers?: Record<string, string>;
}

/** Normalises any thrown value into `{ status, error, error_description }` without leaking internals. */
export function describeError(thrown: unknown): { status: number; error: string; description: string; headers: Record<string, string> } {
  const err = (thrown ?? {}) as ExposedError;
  if (thrown instanceof HttpError) return { status: thrown.status, error: thrown.code, description: thrown.message, headers: thrown.headers };
  // A query that met a stopped Postgres or Redis: the same 503 the oidc adapter gives, not a 500.
  const status = isStoreUnavailable(thrown) ? 503 : (err.status ?? err.statusCode ?? 500);
  if (status >= 500 && status !== 503) return { status: 500, error: 'server_error', description: 'an unexpected error occurred', headers: {} };
  if (status === 503) return { status, error: 'temporarily_unavailable', description: 'a backing service is unavailable, try again later', headers: { 'Retry-After': '5' } };
  // oidc-provider errors carry `error` (the OAuth code) and `error_description`; koa/http-errors carry `message`.
  const error = typeof err.error === 'string' ? err.error : status === 404 ? 'not_found' : 'invalid_request';
  return { status, error, description: err.error_description ?? err.message ?? error, headers: {} };
}

/** Our routes' error boundary: JSON for APIs, an HTML page for browsers; 5xx are logged, never detailed. */
export function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (thrown) {
      const { status, error, description, headers } = describeError(thrown);
      if (status >= 500) logger.error('request failed', { requestId: ctx.state.requestId, path: ctx.path, error: (thrown as Error)?.message });
      ctx.status = status;
      ctx.set(headers);
      if (ctx.accepts('json', 'html') === 'html') {
        ctx.set('Content-Security-Policy', PAGE_CSP);
        ctx.type = 'html';
        ctx.body = errorPage(error, description);
      } else {
        ctx.body = { error, error_description: description };
      }
    }
  };
}
