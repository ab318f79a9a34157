import { z } from 'zod';

/** Building blocks of the response schemas (schemas.ts, integration-schemas.ts). */
export const timestamp = z.iso.datetime().describe('RFC 3339 date-time, UTC');
export const absent = (why: string) => z.never().optional().describe(why);

/** `{ error, error_description }` (CONTRACT.md, Errors). */
export const errorBody = z
  .strictObject({
    error: z.string().describe('machine-readable code (OAuth style)'),
    error_description: z.string().describe('human-readable description'),
  })
  .describe('Every error of these APIs.');

/** `{ items, next_cursor }`: every list endpoint (CONTRACT.md). */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.strictObject({
    items: z.array(item),
    next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; `null` on the last page'),
  });
