import { errors } from 'oidc-provider';
import type { KeyRing } from '../crypto/keyring.js';
import { sha256 } from '../crypto/secrets.js';
import type { ClientQueries, ClientRow } from '../queries/clients.js';
import { HASHED_SECRET_PREFIX } from '../oidc/client-metadata.js';
import type { AdapterStores } from '../oidc/adapter/adapter.js';

const HMAC_ALG_KEYS = [
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'introspection_signed_response_alg',
  'authorization_signed_response_alg',
  'request_object_signing_alg',
  'token_endpoint_auth_signing_alg',
];

/** Symmetric JWE algorithms (`A128KW`…, `dir`) derive their key from the secret, as oidc-provider's `needsSecret` knows. */
const SYMMETRIC_ENCRYPTION_KEYS = [
  'id_token_encrypted_response_alg',
  'request_object_encryption_alg',
  'userinfo_encrypted_response_alg',
  'introspection_encrypted_response_alg',
  'authorization_encrypted_response_alg',
];

/** True when the provider must use the client secret as a key (HMAC or JWE), so it cannot be stored as a hash. */
export function needsSecretAsKey(metadata: Record<string, unknown>): boolean {
  return (
    metadata.token_endpoint_auth_method === 'client_secret_jwt' ||
    HMAC_ALG_KEYS.some((key) => String(metadata[key] ?? '').startsWith('HS')) ||
    SYMMETRIC_ENCRYPTION_KEYS.some((key) => /^(A|dir$)/.test(String(metadata[key] ?? '')))
  );
}

export const secretAad = (clientId: string) => `clients:${clientId}:client_secret`;

/**
 * Splits provider metadata into the stored row: the secret becomes a hash (or ciphertext when it is a key).
 * A client saved without `client_secret` keeps none: neither hash nor ciphertext.
 */
export function toClientRow(metadata: Record<string, unknown>, keyring: KeyRing): Omit<ClientRow, 'created_at' | 'updated_at'> {
  const { client_id, client_secret, workspace_id, ...rest } = metadata;
  const clientId = String(client_id);
  const secret = typeof client_secret === 'string' ? client_secret : undefined;
  // The provider writes back what it loaded (RFC 7592 update): an already-hashed secret stays that hash.
  const storedHash = secret?.startsWith(HASHED_SECRET_PREFIX) ? secret.slice(HASHED_SECRET_PREFIX.length) : undefined;
  // A hash is never a key: the provider would MAC with the hash string, which anyone who reads the table knows.
  // The RFC 7592 update issues a new secret in that case (src/oidc/registration.ts, settleSecret), the admin
  // PATCH likewise (admin-service.ts); anything else reaching here is refused rather than stored.
  if (storedHash !== undefined && needsSecretAsKey(rest)) {
    throw new errors.InvalidClientMetadata('this client needs its secret as a key, and only a hash of the current secret is kept: a new secret must be issued');
  }
  const asKey = secret !== undefined && storedHash === undefined && needsSecretAsKey(rest);
  return {
    client_id: clientId,
    workspace_id: typeof workspace_id === 'string' ? workspace_id : 'default',
    metadata: rest,
    secret_hash: storedHash ?? (secret !== undefined && !asKey ? sha256(secret) : null),
    secret_encrypted: secret !== undefined && asKey ? keyring.encrypt(secret, secretAad(clientId)) : null,
  };
}

/** The metadata oidc-provider sees: `client_secret` is the marked hash, or the decrypted key. */
export function toProviderMetadata(row: ClientRow, keyring: KeyRing): Record<string, unknown> {
  const secret = row.secret_encrypted
    ? keyring.decrypt(row.secret_encrypted, secretAad(row.client_id))
    : row.secret_hash
      ? `${HASHED_SECRET_PREFIX}${row.secret_hash}`
      : undefined;
  return { ...row.metadata, client_id: row.client_id, workspace_id: row.workspace_id, ...(secret ? { client_secret: secret } : {}) };
}

/**
 * The Client model's store for the oidc adapter: rows of the clients table. The client cache (src/clients/cache.ts)
 * hands out the same row object until it changes, so its provider metadata is built once per row, not per request
 * (the adapter hands the provider a copy). Not for a secret kept encrypted (an HMAC key): that is decrypted per
 * request and not kept here in plaintext (DESIGN.md, "Security rules").
 */
export function clientArtifactStore(clients: ClientQueries, keyring: KeyRing): AdapterStores['clients'] {
  const metadataOf = new WeakMap<ClientRow, Record<string, unknown>>();
  const providerMetadata = (row: ClientRow) => {
    if (row.secret_encrypted) return toProviderMetadata(row, keyring);
    let metadata = metadataOf.get(row);
    if (!metadata) {
      metadata = toProviderMetadata(row, keyring);
      metadataOf.set(row, metadata);
    }
    return metadata;
  };
  return {
    async find(_model, clientId) {
      const row = await clients.find(clientId);
      return row ? { payload: providerMetadata(row) } : undefined;
    },
    async upsert(_model, _clientId, payload) {
      await clients.upsert(toClientRow(payload, keyring));
    },
    async destroy(_model, clientId) {
      await clients.delete(clientId);
    },
  };
}
