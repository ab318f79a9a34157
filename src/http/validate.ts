import { koaBody } from 'koa-body';
import type { Context } from 'koa';
import type { z } from 'zod';
import { badRequest } from './errors.js';

/** Turns zod issues into one readable line: `redirect_uris.0: Invalid URL; scope: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}

export function parseWith<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_request'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(describeIssues(result.error), code);
  return result.data;
}

export const parseBody = <S extends z.ZodType>(ctx: Context, schema: S, code?: string) => parseWith(schema, (ctx.request as { body?: unknown }).body ?? {}, code);
export const parseQuery = <S extends z.ZodType>(ctx: Context, schema: S) => parseWith(schema, ctx.query);

/** JSON bodies only, small; a malformed body is a 400 (koa-body raises it with that status). */
export const jsonBody = koaBody({ json: true, urlencoded: false, multipart: false, text: false, jsonLimit: '64kb', jsonStrict: true });

/** `jsonBody` run inside a handler (within its own try), for a route that answers a malformed body in its own shape. */
export const readJsonBody = (ctx: Context): Promise<void> =>
  (jsonBody as unknown as (ctx: Context, next: () => Promise<void>) => Promise<void>)(ctx, async () => {});
