import type { FindAccount } from 'oidc-provider';
import type { AccountService } from '../accounts/service.js';
import { rolesFor } from './roles.js';

/**
 * Claims each scope releases (oidc-provider `claims` option). `workspace` and `roles` (the user's roles as the
 * requesting client names them, ./roles.ts) come with `openid`.
 */
export const CLAIMS = {
  openid: ['sub', 'workspace', 'roles'],
  email: ['email', 'email_verified'],
  profile: ['name'],
};

/** https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#findaccount */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (ctx, sub) => {
    const user = await accounts.find(sub);
    if (!user) return undefined;
    // The client asking (ID token: the one redeeming the code; userinfo: the access token's): its role_map applies.
    const client = ctx.oidc?.client;
    return {
      accountId: user.id,
      // Read by extraTokenClaims (src/oidc/token-claims.ts) so the workspace and roles claims cost no extra query.
      workspace: user.workspace_id,
      roles: user.roles,
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name ?? undefined,
          workspace: user.workspace_id,
          roles: rolesFor(user.roles, client),
        };
      },
    };
  };
}
