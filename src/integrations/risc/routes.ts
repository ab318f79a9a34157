import type Router from '@koa/router';
import { createRouter } from '../../http/router.js';
import type { Context } from 'koa';
import { riscReceiver, type RiscDeps, type RiscReceiver } from './receiver.js';
import { RiscError } from './verify.js';

/** A SET is a few hundred bytes; Google's are well under 2 kB. */
export const RISC_BODY_LIMIT = 64 * 1024;

/** RFC 8935 §2: `application/secevent+jwt`; also plain JWT types that some transmitters send. */
const RAW_TYPES = ['application/secevent+jwt', 'application/jwt', 'text/plain', 'application/octet-stream'];
/** A wrapper some transmitters use: `{ "set": "<jwt>" }` (or `jwt`, `token`), as JSON or a form. */
const WRAPPER_KEYS = ['set', 'jwt', 'token'];

async function readRaw(ctx: Context): Promise<string> {
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > RISC_BODY_LIMIT) throw new RiscError('invalid_request', `the body is larger than ${RISC_BODY_LIMIT} bytes`, 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > RISC_BODY_LIMIT) throw new RiscError('invalid_request', `the body is larger than ${RISC_BODY_LIMIT} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const fromWrapper = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const key of WRAPPER_KEYS) {
      const inner = (value as Record<string, unknown>)[key];
      if (typeof inner === 'string') return inner;
    }
  }
  return undefined;
};

/** The compact SET from the request body, whatever of the accepted media types carries it. */
export async function readSet(ctx: Context): Promise<string> {
  const type = ctx.request.type; // '' when absent
  if (type && !RAW_TYPES.includes(type) && type !== 'application/json' && type !== 'application/x-www-form-urlencoded') {
    throw new RiscError('invalid_request', `send the SET as application/secevent+jwt, not ${type}`, 415);
  }
  const raw = (await readRaw(ctx)).trim();
  if (!raw) throw new RiscError('invalid_request', 'the body is empty: send the SET (a signed JWT) as application/secevent+jwt');
  let jwt: string | undefined = raw;
  if (type === 'application/json') {
    try {
      jwt = fromWrapper(JSON.parse(raw));
    } catch {
      jwt = undefined;
    }
  } else if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw);
    jwt = WRAPPER_KEYS.map((key) => form.get(key)).find((value): value is string => !!value);
  }
  if (!jwt) throw new RiscError('invalid_request', 'no SET found in the body: send the signed JWT itself as application/secevent+jwt');
  return jwt.trim();
}

/**
 * `POST /integrations/google/risc` (RFC 8935 push delivery): no bearer token, the SET's signature is the
 * authentication. 202 with no body when accepted (replays and SETs about unknown accounts too); 400 with
 * `{ err, description, error, error_description }` when refused; 503 when Google's keys cannot be fetched.
 * Mount it before the generic `/integrations/:provider/...` routes.
 */
export function riscRoutes(deps: RiscDeps | { receiver: RiscReceiver }): Router {
  const receiver = 'receiver' in deps ? deps.receiver : riscReceiver(deps);
  const router = createRouter();
  router.post('/integrations/google/risc', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      const jwt = await readSet(ctx);
      await receiver.receive(jwt, { actor: 'system', ip: ctx.ip, requestId: (ctx.state.requestId as string | undefined) ?? null });
    } catch (error) {
      if (!(error instanceof RiscError)) throw error;
      ctx.status = error.status;
      ctx.body = error.body;
      return;
    }
    ctx.status = 202;
    ctx.body = ''; // RFC 8935 §2.2: no body (null would turn the status into 204)
  });
  return router;
}
