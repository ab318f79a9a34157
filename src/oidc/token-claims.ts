import type { Configuration } from 'oidc-provider';
import type { AccountService } from '../accounts/service.js';
import { rolesFor } from './roles.js';

type LoadedAccount = { accountId?: string; workspace?: string; roles?: string[] };

/**
 * Every token carries the `workspace` it acts in: the user's, or the client's for client_credentials. A user's
 * token also carries `roles`, named as the token's client names them (its `role_map`, ./roles.ts), fixed at
 * issuance (a refresh picks up changed roles). Opaque tokens show both at introspection (RFC 7662 §2.2 allows
 * extra members).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#extratokenclaims
 */
export function workspaceClaim(accounts: AccountService): Configuration['extraTokenClaims'] {
  return async (ctx, token) => {
    const accountId = (token as { accountId?: string }).accountId;
    // The client the token is issued to (the grant handlers build the token with it), else the request's.
    const client = (token as { client?: unknown }).client ?? ctx.oidc.client;
    if (accountId) {
      // The grant handlers have loaded the account already (findAccount): no second query on the hot path.
      const loaded = ctx.oidc.account as LoadedAccount | undefined;
      if (loaded?.accountId === accountId && loaded.workspace) return { workspace: loaded.workspace, roles: rolesFor(loaded.roles, client) };
      const user = await accounts.find(accountId);
      if (user) return { workspace: user.workspace_id, roles: rolesFor(user.roles, client) };
    }
    const owner = ctx.oidc.client as { workspace_id?: string } | undefined;
    return { workspace: owner?.workspace_id ?? 'default' };
  };
}
