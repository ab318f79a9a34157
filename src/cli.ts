import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { openDatabase } from './db/knex.js';
import { migrateLatest } from './db/migrate.js';
import { loadKeyRing } from './crypto/load-keyring.js';
import { createQueries } from './queries/index.js';
import { rotateSigningKeys } from './oidc/signing-keys.js';
import { clientService } from './clients/service.js';
import { adminClientMetadata } from './clients/bootstrap-admin.js';

const USAGE = `usage: npm run cli -- <command>
  migrate        apply pending database migrations
  keys:rotate    add new signing keys (they sign after the next restart); old keys stay published for SIGNING_KEY_OVERLAP_SECONDS
  admin:create [name]
                 create a confidential client_credentials client with scope admin; prints its id and secret once`;

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
      default:
        process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
        return 2;
    }
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.message ?? error}\n`);
    process.exit(1);
  },
);
