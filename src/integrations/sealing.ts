import type { KeyRing } from '../crypto/keyring.js';

/** The identity of a connection row: a ciphertext is bound to it (and to its field) as AES-GCM associated data. */
export interface ConnectionIdentity {
  workspace_id: string;
  actor_type: string;
  actor_id: string;
  provider: string;
  purpose: string;
}

export type ConnectionSecretField = 'access_token' | 'refresh_token';

/**
 * Associated data for a connection's secrets: copying a ciphertext into another row (another workspace, actor,
 * provider or purpose) or into the other field makes it fail authentication instead of decrypting.
 * JSON keeps the parts unambiguous whatever characters they hold.
 */
export const connectionAad = (row: ConnectionIdentity, field: ConnectionSecretField | `cache:${string}`): string =>
  JSON.stringify(['integration_connection', row.workspace_id, row.actor_type, row.actor_id, row.provider, row.purpose, field]);

export const mailboxPasswordAad = (row: { workspace_id: string; purpose: string }): string =>
  JSON.stringify(['integration_mailbox', row.workspace_id, row.purpose, 'password']);

export const stateVerifierAad = (stateHash: string): string => JSON.stringify(['oauth_state', stateHash, 'code_verifier']);

/** Seals and opens a connection's token fields with the key ring (first key encrypts, all decrypt). */
export function connectionSealer(keyring: KeyRing) {
  return {
    seal: (row: ConnectionIdentity, field: ConnectionSecretField, value: string | undefined | null): string | null =>
      value ? keyring.encrypt(value, connectionAad(row, field)) : null,
    open: (row: ConnectionIdentity, field: ConnectionSecretField, ciphertext: string | null): string | undefined =>
      ciphertext ? keyring.decrypt(ciphertext, connectionAad(row, field)) : undefined,
  };
}

export type ConnectionSealer = ReturnType<typeof connectionSealer>;
