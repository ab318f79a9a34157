import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { z } from 'zod';
import { badRequest, HttpError } from './errors.js';
import { findUnstorable } from './input-guard.js';

/** Turns zod issues into one readable line: `redirect_uris.0: Invalid URL; scope: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_request'): z.output<S> {
  const unstorable = findUnstorable(input);
  if (unstorable) throw badRequest(unstorable, code);
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(describeIssues(result.error), code);
  return result.data;
}

export const parseBody = <S extends z.ZodType>(ctx: Context, schema: S, code?: string) => parseWith(schema, (ctx.request as { body?: unknown }).body ?? {}, code);
export const parseQuery = <S extends z.ZodType>(ctx: Context, schema: S) => parseWith(schema, ctx.query);

/**
 * A body koa-body could not read: malformed JSON and too large already carry 400 and 413; a broken gzip or
 * deflate stream (zlib's "incorrect header check") carries no status and would be a 500.
 */
function unreadableBody(error: Error & { status?: number }): never {
  if (error.status && error.status < 500) throw error;
  throw badRequest(`the request body could not be read: ${error.message}`);
}

type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;
const parseJsonBody = koaBody({ json: true, urlencoded: false, multipart: false, text: false, jsonLimit: '64kb', jsonStrict: true, onError: unreadableBody }) as unknown as Middleware;

/** JSON, and any structured syntax suffix `+json` (RFC 6839 §3.1: merge-patch, vnd.*); parameters such as charset aside. */
const JSON_TYPES = ['application/json', 'application/*+json'];

/** Content-Length above 0, or a chunked body: `Content-Length: 0` and no body at all are both "no body". */
const carriesBody = (ctx: Context): boolean => ctx.get('transfer-encoding') !== '' || Number(ctx.get('content-length')) > 0;

/**
 * JSON bodies only, small. A body of another media type is a 415, not read as `{}` (which would let a form post
 * succeed with every field defaulted); a malformed body is a 400.
 * koa-body 6 reads only its own list of JSON types (lib/utils/body-type-util.js) and leaves any other `+json` body
 * unread, so the parser is shown `application/json`; the declared type is back before the handler runs.
 */
export const jsonBody: Middleware = async (ctx, next) => {
  if (!carriesBody(ctx)) return parseJsonBody(ctx, next);
  if (!ctx.is(JSON_TYPES)) throw new HttpError(415, 'invalid_request', 'the request body must be JSON (Content-Type: application/json or application/*+json)');
  const declared = ctx.req.headers['content-type'];
  const restore = () => void (ctx.req.headers['content-type'] = declared);
  ctx.req.headers['content-type'] = 'application/json';
  try {
    await parseJsonBody(ctx, () => (restore(), next()));
  } finally {
    restore();
  }
};

/** `jsonBody` run inside a handler (within its own try), for a route that answers a malformed body in its own shape. */
export const readJsonBody = (ctx: Context): Promise<void> => jsonBody(ctx, async () => {});
