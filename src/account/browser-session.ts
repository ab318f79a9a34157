import type { Context } from 'koa';
import type Provider from 'oidc-provider';

export interface SignedInUser {
  accountId: string;
  /** The session's stable public id (not the cookie value): what the page's CSRF token is bound to. */
  sessionUid: string;
}

/**
 * The user signed in to this browser, read from oidc-provider's own session: `Session.get(ctx)` reads the
 * `_session` cookie through a provider context (so its signature is checked with the provider's cookie keys) and
 * loads the stored session through the adapter, which returns nothing for an expired or deleted one. Public API
 * only, as the maintainer recommends for "is the user signed in" pages on the OP itself:
 * https://github.com/panva/node-oidc-provider/wiki/FAQ#how-to-display-on-the-website-of-the-op-itself-if-the-user-is-signed-in-or-not
 */
export async function signedInUser(provider: Provider, ctx: Context): Promise<SignedInUser | undefined> {
  const session = await provider.Session.get(ctx);
  if (!session.accountId) return undefined;
  return { accountId: session.accountId, sessionUid: session.uid };
}
