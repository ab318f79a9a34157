import type { Logger } from 'winston';
import type { AccountService } from '../src/accounts/service.js';
import type { ClientService } from '../src/clients/service.js';
import type { Queries } from '../src/queries/index.js';

export const DEFAULT_WORKSPACE_ID = 'default';

/** Outside production only: a user and a public client to try the flow with (printed by the start banner). */
export const DEMO = {
  email: 'demo@example.com',
  password: 'demo-password',
  clientId: 'demo-app',
  redirectUri: 'http://localhost:8080/callback',
};

/**
 * The account page's own client (src/account/): public, PKCE, first-party (no consent page), scope `openid` only.
 * It signs the browser in through a normal authorization request; its grant is not listed as an "app with access".
 */
export const ACCOUNT_CONSOLE_CLIENT_ID = 'account-console';

export const accountCallbackUrl = (issuer: string) => `${issuer.replace(/\/+$/, '')}/account/callback`;

/** Idempotent upsert, so a changed ISSUER updates the redirect URI on the next start. */
export async function ensureAccountConsoleClient(clients: ClientService, issuer: string): Promise<void> {
  await clients.register({
    client_id: ACCOUNT_CONSOLE_CLIENT_ID,
    client_name: 'Your account',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [accountCallbackUrl(issuer)],
    scope: 'openid',
    first_party: true,
    workspace_id: DEFAULT_WORKSPACE_ID,
  });
}

export interface SeedDependencies {
  queries: Queries;
  accounts: AccountService;
  clients: ClientService;
  logger: Logger;
  seedDemo: boolean;
  /** When given, the account page's client is ensured for this issuer. */
  issuer?: string;
}

/** Idempotent: safe on every start and on several instances at once. */
export async function runSeeds({ queries, accounts, clients, logger, seedDemo, issuer }: SeedDependencies): Promise<void> {
  await queries.workspaces.ensure(DEFAULT_WORKSPACE_ID, 'Default workspace');
  if (issuer) await ensureAccountConsoleClient(clients, issuer);
  if (!seedDemo) return;
  await accounts.ensure({ email: DEMO.email, password: DEMO.password, name: 'Demo User', workspaceId: DEFAULT_WORKSPACE_ID, emailVerified: true });
  if (!(await clients.find(DEMO.clientId))) {
    await clients.register({
      client_id: DEMO.clientId,
      client_name: 'Demo app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [DEMO.redirectUri, 'http://127.0.0.1:8080/callback'],
      scope: 'openid profile email offline_access account',
      workspace_id: DEFAULT_WORKSPACE_ID,
    });
    logger.info('seeded the demo client and user', { client_id: DEMO.clientId, email: DEMO.email });
  }
}
