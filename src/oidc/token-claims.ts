import type { Configuration } from 'oidc-provider';
import type { AccountService } from '../accounts/service.js';

/**
 * Every token carries the `workspace` it acts in: the user's, or the client's for client_credentials.
 * Opaque tokens show it at introspection (RFC 7662 §2.2 allows extra members).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#extratokenclaims
 */
export function workspaceClaim(accounts: AccountService): Configuration['extraTokenClaims'] {
  return async (ctx, token) => {
    const accountId = (token as { accountId?: string }).accountId;
    if (accountId) {
      // The grant handlers have loaded the account already (findAccount): no second query on the hot path.
      const loaded = ctx.oidc.account as { accountId?: string; workspace?: string } | undefined;
      if (loaded?.accountId === accountId && loaded.workspace) return { workspace: loaded.workspace };
      const user = await accounts.find(accountId);
      if (user) return { workspace: user.workspace_id };
    }
    const client = ctx.oidc.client as { workspace_id?: string } | undefined;
    return { workspace: client?.workspace_id ?? 'default' };
  };
}
