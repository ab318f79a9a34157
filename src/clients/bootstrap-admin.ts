import type { ClientService } from './service.js';

/** A confidential client_credentials client with scope `admin` (CONTRACT.md, Configuration). */
export const adminClientMetadata = (clientName: string) => ({
  client_name: clientName,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'admin',
  workspace_id: 'default',
});

/**
 * BOOTSTRAP_ADMIN_CLIENT_ID/_SECRET: ensure that client at start; the secret from the environment replaces a
 * stored one.
 */
export async function ensureBootstrapAdmin(clients: ClientService, admin: BootstrapAdminSettings): Promise<boolean> {
  const clientId = bootstrapAdminClientId(admin);
  if (!clientId) return false;
  await clients.register({ ...adminClientMetadata('Bootstrap admin'), client_id: clientId, client_secret: admin.clientSecret });
  return true;
}

export interface BootstrapAdminSettings {
  clientId?: string;
  clientSecret?: string;
}

/** The bootstrap admin's client_id when both variables are set (only then is the client ensured). */
export const bootstrapAdminClientId = (admin: BootstrapAdminSettings): string | undefined => (admin.clientId && admin.clientSecret ? admin.clientId : undefined);
