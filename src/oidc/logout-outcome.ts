import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

/**
 * What the logout confirmation just did, for the page it sends the browser to. oidc-provider sends "Yes", "No" and
 * anyone who opens the URL to the same /session/end/success, and tells its renderer only a `client_id`, which a
 * direct visit can carry too (lib/actions/end_session.js). So the confirmation leaves a signed, one-shot cookie
 * scoped to that page, which the page reads and clears (src/oidc/pages.ts).
 */
const COOKIE = 'logout_outcome';
const MAX_AGE_MS = 60_000;

/** `session`: the whole session ended ("Yes"); `client`: only that client's sign-in ("No" from a client's request). */
export type LogoutOutcome = { ended: 'session' } | { ended: 'client'; clientId: string };

const successUrl = (ctx: KoaContextWithOIDC) => new URL(ctx.oidc.urlFor('end_session_success'));

export function installLogoutOutcome(provider: Provider): void {
  provider.use(async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as KoaContextWithOIDC;
    if (ctx.oidc?.route !== 'end_session_confirm' || ctx.status !== 303) return;
    const success = successUrl(ctx);
    const location = new URL(ctx.response.get('location'), success);
    // Sent back to the client's post_logout_redirect_uri: that page is the client's to word.
    if (location.origin !== success.origin || location.pathname !== success.pathname) return;
    const clientId = location.searchParams.get('client_id');
    const value = clientId ? `client:${clientId}` : ctx.oidc.params?.logout ? 'session' : undefined;
    if (value) ctx.cookies.set(COOKIE, value, { signed: true, httpOnly: true, sameSite: 'lax', path: success.pathname, maxAge: MAX_AGE_MS, overwrite: true });
  });
}

/** The outcome the confirmation left for this page (cleared as it is read); undefined when no logout led here. */
export function takeLogoutOutcome(ctx: KoaContextWithOIDC): LogoutOutcome | undefined {
  const value = ctx.cookies.get(COOKIE, { signed: true });
  if (!value) return undefined;
  ctx.cookies.set(COOKIE, null, { signed: true, httpOnly: true, sameSite: 'lax', path: successUrl(ctx).pathname, overwrite: true });
  if (value === 'session') return { ended: 'session' };
  return value.startsWith('client:') ? { ended: 'client', clientId: value.slice('client:'.length) } : undefined;
}
