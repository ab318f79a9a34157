import { ACCOUNT_CONSOLE_CLIENT_ID } from '../../seeds/index.js';
import { conflict } from '../http/errors.js';

export type ClientAction = 'changed' | 'deleted' | 'given a new secret';

/**
 * Clients the server itself writes on every start and relies on: the account page's sign-in client (seeds/) and,
 * when configured, the bootstrap admin client (./bootstrap-admin.ts). The admin API reads them but does not change,
 * delete or re-key them: /account (or the operator's admin access) would break until the next start, which then
 * silently undoes the change. The demo client is seeded only when absent and nothing relies on it: not listed.
 */
export function builtInClients(options: { bootstrapAdminClientId?: string }) {
  const managedBy = new Map<string, string>([[ACCOUNT_CONSOLE_CLIENT_ID, 'the account page signs in through it']]);
  if (options.bootstrapAdminClientId) {
    managedBy.set(options.bootstrapAdminClientId, 'it is the bootstrap admin client: change BOOTSTRAP_ADMIN_CLIENT_ID / BOOTSTRAP_ADMIN_CLIENT_SECRET and restart instead');
  }
  return {
    isBuiltIn: (clientId: string) => managedBy.has(clientId),
    /** 409 `client_protected` for a built-in client. */
    assertManageable(clientId: string, action: ClientAction): void {
      const why = managedBy.get(clientId);
      if (why) throw conflict(`built-in client ${clientId} is managed by the server and cannot be ${action} (${why})`, 'client_protected');
    },
  };
}

export type BuiltInClients = ReturnType<typeof builtInClients>;
