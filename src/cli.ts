import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { openDatabase } from './db/knex.js';
import { migrateLatest } from './db/migrate.js';
import { loadKeyRing } from './crypto/load-keyring.js';
import { createQueries } from './queries/index.js';
import { rotateSigningKeys } from './oidc/signing-keys.js';
import { clientService } from './clients/service.js';
import { adminClientMetadata } from './clients/bootstrap-admin.js';
import { formatSummary, formatTableResult, reencryptAll } from './crypto/reencrypt.js';
import type { KeyRing } from './crypto/keyring.js';
import type { Config } from './config.js';

const USAGE = `usage: npm run cli -- <command>
  migrate        apply pending database migrations
  keys:rotate    add new signing keys (they sign after the next restart); old keys stay published for SIGNING_KEY_OVERLAP_SECONDS
  admin:create [name]
                 create a confidential client_credentials client with scope admin; prints its id and secret once
  encryption:reencrypt
                 re-encrypt every secret at rest under the first key of ENCRYPTION_KEYS, while the app runs (Postgres).
                 Key rotation: 1. put the new key first in ENCRYPTION_KEYS and keep the old ones after it;
                 2. roll every instance onto that ring (an instance still on the old ring writes with the old key
                 and cannot read the new one); 3. run this (again until it re-encrypts 0); 4. once short-lived state
                 under the old key has expired (Redis token cache: about an hour; cookies: SESSION_TTL), remove
                 the old key and roll again.
                 Exits 1 and names the rows when a ciphertext no key opens.
With the embedded store (no DATABASE_URL) stop the server first: only one process may open DATA_DIR, and a command
started while the server runs is refused. With Postgres, commands and servers run side by side.`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const database = await openDatabase(config);
  try {
    switch (command) {
      case 'migrate': {
        const applied = await migrateLatest(database.db);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
        return 0;
      }
      case 'keys:rotate': {
        await migrateLatest(database.db);
        const keyring = loadKeyRing({ spec: config.encryptionKeys, dataDir: config.dataDir, logger });
        const kids = await rotateSigningKeys(createQueries(database.db).signingKeys, keyring, config.signingKeyOverlapSeconds);
        process.stdout.write(`new signing keys: ${kids.join(', ')}\nrestart the instances (rolling) to sign with them; old keys stay published for ${config.signingKeyOverlapSeconds}s\n`);
        return 0;
      }
      case 'admin:create': {
        await migrateLatest(database.db);
        const keyring = loadKeyRing({ spec: config.encryptionKeys, dataDir: config.dataDir, logger });
        const queries = createQueries(database.db);
        await queries.workspaces.ensure('default', 'Default workspace');
        const name = argv.slice(1).join(' ').trim() || 'Admin CLI client';
        const created = await clientService(queries.clients, keyring).register(adminClientMetadata(name));
        process.stdout.write(
          `client_id:     ${created.client_id}\nclient_secret: ${created.client_secret}\n` +
            `The secret is shown once and stored hashed. Get an admin token with:\n` +
            `  curl -s -u '${created.client_id}:<secret>' -d grant_type=client_credentials -d scope=admin ${config.issuer}/token\n`,
        );
        return 0;
      }
      case 'encryption:reencrypt': {
        await migrateLatest(database.db);
        const keyring = loadKeyRing({ spec: config.encryptionKeys, dataDir: config.dataDir, logger });
        return await reencryptCommand(createQueries(database.db), keyring, config); // await: the finally closes the database
      }
      default:
        process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
        return 2;
    }
  } finally {
    await database.close();
  }
}

async function reencryptCommand(queries: ReturnType<typeof createQueries>, keyring: KeyRing, config: Config): Promise<number> {
  process.stdout.write(`re-encrypting under key "${keyring.primaryKid}" (ring: ${keyring.kids.join(', ')})\n`);
  const results = await reencryptAll({
    queries,
    keyring,
    onProgress: (progress) => {
      if (progress.done) process.stdout.write(`${formatTableResult(progress)}\n`);
    },
  });
  process.stdout.write(`${formatSummary(results, keyring.primaryKid)}\n`);
  const failed = results.some((result) => result.failed > 0);
  process.stdout.write(`${reencryptNextSteps(keyring, config, failed)}\n`);
  return failed ? 1 : 0;
}

/** What the operator may do next: when the older keys can leave ENCRYPTION_KEYS. */
function reencryptNextSteps(keyring: KeyRing, config: Config, failed: boolean): string {
  const older = keyring.kids.filter((kid) => kid !== keyring.primaryKid);
  if (failed) return 'remove no key yet: the rows above need a key missing from ENCRYPTION_KEYS, or hold a value moved from another row; restore the key or fix or delete the rows, then run again';
  if (older.length === 0) return 'ENCRYPTION_KEYS holds one key: nothing to retire';
  return [
    'Not re-encrypted, on purpose: short-lived state in Redis (cached upstream access tokens, sealed until the token',
    'expires, about an hour; unreadable ones are only cache misses) and browser cookies (signed with keys derived from',
    `every key in the ring; active ones are re-signed on use). Keep ${older.join(', ')} in ENCRYPTION_KEYS until that state`,
    `has expired: at least 1 hour, and SESSION_TTL (${config.ttl.session}s) to keep idle logins, counted from when every instance runs`,
    `the new ring. Then run this command again (it must re-encrypt 0), remove ${older.length > 1 ? 'them' : 'it'} and roll the instances.`,
  ].join('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.message ?? error}\n`);
    process.exit(1);
  },
);
