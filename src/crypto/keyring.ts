import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM key ring for data at rest. The first key encrypts; every key decrypts.
 * Ciphertext format: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts), so the key id travels with the data.
 * `aad` binds a ciphertext to the row (and field) it belongs to: a copy pasted into another row fails to open.
 */
export class KeyRing {
  readonly #keys: Map<string, Buffer>;
  readonly primaryKid: string;

  constructor(keys: Array<{ kid: string; key: Buffer }>) {
    if (keys.length === 0) throw new Error('the key ring needs at least one key');
    for (const { kid, key } of keys) {
      if (key.length !== 32) throw new Error(`encryption key "${kid}" must be 32 bytes, got ${key.length}`);
      if (!/^[A-Za-z0-9_-]+$/.test(kid)) throw new Error(`encryption key id "${kid}" may use only A-Z a-z 0-9 _ -`);
    }
    this.#keys = new Map(keys.map(({ kid, key }) => [kid, key]));
    if (this.#keys.size !== keys.length) throw new Error('encryption key ids must be unique');
    this.primaryKid = keys[0]!.kid;
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  /** Raw key material, for deriving other secrets (cookie keys) with HKDF. */
  keyMaterial(): Buffer[] {
    return [...this.#keys.values()];
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.primaryKid)!, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', this.primaryKid, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  decrypt(ciphertext: string, aad: string): string {
    const parts = ciphertext.split('.');
    if (parts.length !== 5 || parts[0] !== 'v1') throw new DecryptionError('not a v1 ciphertext');
    const [, kid, iv, body, tag] = parts as [string, string, string, string, string];
    const key = this.#keys.get(kid);
    if (!key) throw new DecryptionError(`no key "${kid}" in the ring (ENCRYPTION_KEYS has: ${this.kids.join(', ')})`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError(`ciphertext under key "${kid}" failed authentication (wrong key or row)`);
    }
  }

  /** The key id a ciphertext was written with (for re-encryption). */
  static kidOf(ciphertext: string): string | undefined {
    return ciphertext.split('.')[1];
  }
}

/**
 * A secret for one purpose (form tokens, state cookies), derived from the newest key: rotating ENCRYPTION_KEYS
 * rotates it too, and no extra secret needs configuring.
 */
export function derivePurposeSecret(keyring: KeyRing, purpose: string): Buffer {
  return createHmac('sha256', keyring.keyMaterial()[0]!).update(purpose).digest();
}

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}
