import type { FindAccount } from 'oidc-provider';
import type { AccountService } from '../accounts/service.js';

/** Claims each scope releases (oidc-provider `claims` option). `workspace` comes with `openid`. */
export const CLAIMS = {
  openid: ['sub', 'workspace'],
  email: ['email', 'email_verified'],
  profile: ['name'],
};

/** https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#findaccount */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (_ctx, sub) => {
    const user = await accounts.find(sub);
    if (!user) return undefined;
    return {
      accountId: user.id,
      // Read by extraTokenClaims (src/oidc/token-claims.ts) so the workspace claim costs no extra query.
      workspace: user.workspace_id,
      async claims() {
        return {
          sub: user.id,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name ?? undefined,
          workspace: user.workspace_id,
        };
      },
    };
  };
}
