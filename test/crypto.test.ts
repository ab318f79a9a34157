import { randomBytes } from 'node:crypto';
import { KeyRing } from '../src/crypto/keyring.js';
import { parseKeyRing } from '../src/crypto/load-keyring.js';
import { hashPassword, verifyPassword } from '../src/crypto/secrets.js';

const key = () => randomBytes(32);

describe('key ring (AES-256-GCM)', () => {
  test('round trip; the key id travels in the ciphertext; no plaintext inside', () => {
    const ring = new KeyRing([{ kid: 'k2', key: key() }]);
    const sealed = ring.encrypt('refresh-token-value', 'row:1');
    expect(sealed.startsWith('v1.k2.')).toBe(true);
    expect(sealed).not.toContain('refresh-token-value');
    expect(ring.decrypt(sealed, 'row:1')).toBe('refresh-token-value');
  });

  test('a ciphertext moved to another row (other associated data) fails', () => {
    const ring = new KeyRing([{ kid: 'k', key: key() }]);
    expect(() => ring.decrypt(ring.encrypt('secret', 'row:1'), 'row:2')).toThrow(/failed authentication/);
  });

  test('the first key writes, older keys still read; an unknown key id is named', () => {
    const oldKey = { kid: 'old', key: key() };
    const oldRing = new KeyRing([oldKey]);
    const sealed = oldRing.encrypt('secret', 'aad');
    const rotated = new KeyRing([{ kid: 'new', key: key() }, oldKey]);
    expect(rotated.decrypt(sealed, 'aad')).toBe('secret');
    expect(KeyRing.kidOf(rotated.encrypt('x', 'aad'))).toBe('new');
    expect(() => new KeyRing([{ kid: 'other', key: key() }]).decrypt(sealed, 'aad')).toThrow(/no key "old"/);
  });

  test('ENCRYPTION_KEYS parsing rejects short keys and malformed entries with the variable name', () => {
    expect(() => parseKeyRing(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/ENCRYPTION_KEYS: .*32 bytes/);
    expect(() => parseKeyRing('justakey')).toThrow(/ENCRYPTION_KEYS/);
    expect(parseKeyRing(`a:${key().toString('base64')},b:${key().toString('base64')}`).kids).toEqual(['a', 'b']);
  });
});

test('passwords: scrypt hashes verify, wrong passwords do not', async () => {
  const hash = await hashPassword('hunter2!');
  expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
  expect(await verifyPassword('hunter2!', hash)).toBe(true);
  expect(await verifyPassword('hunter3!', hash)).toBe(false);
});
