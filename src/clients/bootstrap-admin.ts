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
export async function ensureBootstrapAdmin(clients: ClientService, admin: { clientId?: string; clientSecret?: string }): Promise<boolean> {
  if (!admin.clientId || !admin.clientSecret) return false;
  await clients.register({ ...adminClientMetadata('Bootstrap admin'), client_id: admin.clientId, client_secret: admin.clientSecret });
  return true;
}
