import type { ClientService } from './service.js';

/**
 * BOOTSTRAP_ADMIN_CLIENT_ID/_SECRET: a confidential client_credentials client with scope `admin`.
 * The secret from the environment replaces a stored one (CONTRACT.md, Configuration).
 */
export async function ensureBootstrapAdmin(clients: ClientService, admin: { clientId?: string; clientSecret?: string }): Promise<boolean> {
  if (!admin.clientId || !admin.clientSecret) return false;
  await clients.register({
    client_id: admin.clientId,
    client_secret: admin.clientSecret,
    client_name: 'Bootstrap admin',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'admin',
    workspace_id: 'default',
  });
  return true;
}
