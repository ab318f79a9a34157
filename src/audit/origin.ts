import type { Context } from 'koa';

/** Who did it and from where: filled from the request by our routes, passed to services. */
export interface AuditOrigin {
  actor: string;
  ip?: string | null;
  requestId?: string | null;
}

export const SYSTEM: AuditOrigin = { actor: 'system' };

export function originOf(ctx: Context): AuditOrigin {
  const principal = ctx.state.principal as { actor?: string } | undefined;
  return { actor: principal?.actor ?? 'anonymous', ip: ctx.ip, requestId: ctx.state.requestId ?? null };
}
