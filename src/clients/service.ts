import { generateSecret } from '../crypto/secrets.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { ClientQueries } from '../queries/clients.js';
import { toClientRow } from './store.js';

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
}

/**
 * Creates or replaces clients in the store. Secrets: 256 random bits, unreserved characters, returned once.
 * Metadata is validated by oidc-provider when it loads the client; the admin API (later) validates up front.
 */
export function clientService(clients: ClientQueries, keyring: KeyRing) {
  return {
    async register(metadata: Record<string, unknown> & { client_id?: string; client_secret?: string }): Promise<RegisteredClient> {
      const clientId = metadata.client_id ?? generateSecret(128);
      const isPublic = metadata.token_endpoint_auth_method === 'none';
      const clientSecret = isPublic ? undefined : (metadata.client_secret ?? generateSecret(256));
      await clients.upsert(toClientRow({ ...metadata, client_id: clientId, client_secret: clientSecret }, keyring));
      return { client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) };
    },
    find: (clientId: string) => clients.find(clientId),
  };
}

export type ClientService = ReturnType<typeof clientService>;
