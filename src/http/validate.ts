import Bourne from '@hapi/bourne';
import type { Context } from 'koa';
import type { z } from 'zod';
import { badRequest, HttpError } from './errors.js';
import { findUnstorable } from './input-guard.js';
import { decodeUtf8, isUtf8Charset, readBodyBytes } from './read-body.js';

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
 * A body that could not be read: too large and an unknown content coding already carry 413 and 415; a broken gzip
 * or deflate stream (zlib's "incorrect header check") carries no status and would be a 500.
 */
function unreadableBody(error: Error & { status?: number }): never {
  if (error.status && error.status < 500) throw error;
  throw badRequest(`the request body could not be read: ${error.message}`);
}

type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;

const JSON_LIMIT = 64 * 1024;
/** Bodies of other methods are not read (their `body` is `{}`), as koa-body did. */
const PARSED_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Strict: the top level is an object or an array, after RFC 8259 whitespace. */
const OBJECT_OR_ARRAY = /^[\x20\x09\x0a\x0d]*[[{]/;

/** JSON, and any structured syntax suffix `+json` (RFC 6839 §3.1: merge-patch, vnd.*); parameters such as charset aside. */
const JSON_TYPES = ['application/json', 'application/*+json'];

/** Content-Length above 0, or a chunked body: `Content-Length: 0` and no body at all are both "no body". */
const carriesBody = (ctx: Context): boolean => ctx.get('transfer-encoding') !== '' || Number(ctx.get('content-length')) > 0;

/**
 * Strict JSON: the top level an object or an array (as co-body's `strict`), and no `__proto__` key anywhere, which a
 * later merge would turn into a prototype (@hapi/bourne, the parser co-body uses; same message).
 */
function parseJsonText(text: string): unknown {
  if (!text) return {};
  if (!OBJECT_OR_ARRAY.test(text)) throw badRequest('invalid JSON, only supports object and array');
  try {
    return Bourne.parse(text, { protoAction: 'error' });
  } catch (error) {
    throw badRequest((error as Error).message);
  }
}

/**
 * JSON bodies only, small, UTF-8. A body of another media type is a 415, not read as `{}` (which would let a form
 * post succeed with every field defaulted); so is one declaring a charset other than UTF-8 (RFC 8259 §8.1: JSON
 * between systems MUST be UTF-8), rather than decoded as UTF-8 and stored altered. Bytes that are not UTF-8 and
 * malformed JSON are 400s.
 */
async function readJson(ctx: Context): Promise<unknown> {
  if (!carriesBody(ctx)) return {};
  if (!ctx.is(JSON_TYPES)) throw new HttpError(415, 'invalid_request', 'the request body must be JSON (Content-Type: application/json or application/*+json)');
  const { charset } = ctx.request;
  if (charset && !isUtf8Charset(charset)) throw new HttpError(415, 'invalid_request', `the request body must be UTF-8 JSON (RFC 8259 §8.1), not charset ${charset}`);
  if (!PARSED_METHODS.has(ctx.method)) return {};
  const bytes = await readBodyBytes(ctx.req, JSON_LIMIT).catch(unreadableBody);
  return parseJsonText(decodeUtf8(bytes));
}

export const jsonBody: Middleware = async (ctx, next) => {
  (ctx.request as { body?: unknown }).body = await readJson(ctx);
  await next();
};

/** `jsonBody` run inside a handler (within its own try), for a route that answers a malformed body in its own shape. */
export const readJsonBody = (ctx: Context): Promise<void> => jsonBody(ctx, async () => {});
