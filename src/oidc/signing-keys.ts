import * as jose from 'jose';
import type { JWK } from 'jose';
import type { KeyRing } from '../crypto/keyring.js';
import type { SigningKeyQueries } from '../queries/signing-keys.js';

/** RS256 is the OIDC default every client supports; ES256 is offered alongside (discovery lists both). */
const ALGORITHMS = ['RS256', 'ES256'] as const;

const aad = (kid: string) => `signing_keys:${kid}`;

async function generate(keyring: KeyRing) {
  return Promise.all(
    ALGORITHMS.map(async (alg) => {
      const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
      const jwk = await jose.exportJWK(privateKey);
      const kid = await jose.calculateJwkThumbprint(jwk);
      const full = { ...jwk, kid, alg, use: 'sig' };
      return { kid, alg, private_jwk_encrypted: keyring.encrypt(JSON.stringify(full), aad(kid)) };
    }),
  );
}

/** First start: one key per algorithm, generated once even when several instances start together. */
export async function ensureSigningKeys(queries: SigningKeyQueries, keyring: KeyRing): Promise<boolean> {
  return queries.insertIfNone(await generate(keyring));
}

/**
 * New keys sign from the next start on; the old ones stay published for `overlapSeconds`, so tokens they
 * signed still verify. Instances pick the new keys up when they restart (a rolling restart).
 */
export async function rotateSigningKeys(queries: SigningKeyQueries, keyring: KeyRing, overlapSeconds: number, now = new Date()): Promise<string[]> {
  const keys = await generate(keyring);
  await queries.rotate(keys, new Date(now.getTime() + overlapSeconds * 1000));
  return keys.map((key) => key.kid);
}

/** The private JWKS for oidc-provider: current keys first (they sign), retiring ones after (verify only). */
export async function loadSigningJwks(queries: SigningKeyQueries, keyring: KeyRing, now = new Date()): Promise<{ keys: JWK[] }> {
  await queries.deleteRetired(now);
  const rows = await queries.listPublished(now);
  const keys = rows.map((row) => {
    try {
      return JSON.parse(keyring.decrypt(row.private_jwk_encrypted, aad(row.kid))) as JWK;
    } catch (error) {
      throw new Error(`signing key ${row.kid} cannot be opened with ENCRYPTION_KEYS: ${(error as Error).message}`);
    }
  });
  return { keys };
}
