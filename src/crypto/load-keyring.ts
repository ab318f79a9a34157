import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'winston';
import { KeyRing } from './keyring.js';

/** Parses `kid1:base64key,kid2:base64key` (first one encrypts). */
export function parseKeyRing(spec: string): KeyRing {
  const keys = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf(':');
      if (at <= 0) throw new Error('ENCRYPTION_KEYS: each entry is kid:base64key');
      return { kid: entry.slice(0, at), key: Buffer.from(entry.slice(at + 1), 'base64') };
    });
  try {
    return new KeyRing(keys);
  } catch (error) {
    throw new Error(`ENCRYPTION_KEYS: ${(error as Error).message}`);
  }
}

/**
 * ENCRYPTION_KEYS when set; otherwise (never in production, see config) a ring generated once into
 * `dataDir/encryption-keys` so that a plain `npm start` works and restarts can read their own data.
 */
export function loadKeyRing(options: { spec?: string; dataDir: string; logger: Logger }): KeyRing {
  if (options.spec) return parseKeyRing(options.spec);
  const file = path.resolve(options.dataDir, 'encryption-keys');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `k${Date.now().toString(36)}:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    options.logger.warn('ENCRYPTION_KEYS is not set: generated a development key ring (set ENCRYPTION_KEYS in production)', { file });
  } else {
    options.logger.warn('ENCRYPTION_KEYS is not set: using the development key ring', { file });
  }
  return parseKeyRing(readFileSync(file, 'utf8').trim());
}
