import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';
import type { Config } from '../config.js';
import type { Database } from './knex.js';
import { lockDataDir } from './data-dir-lock.js';

/**
 * knex-pglite 0.14 labels a delete `DEL`, so knex's pg dialect does not recognise it and returns the raw result
 * object instead of the affected row count (a count loop such as the sweeper's would then never end). Relabel it.
 */
class PgLiteClient extends (ClientPgLite as unknown as { new (config: Knex.Config): { processResponse(obj: { method?: string }, runner: unknown): unknown } }) {
  override processResponse(obj: { method?: string }, runner: unknown): unknown {
    return super.processResponse(obj.method === 'del' ? { ...obj, method: 'delete' } : obj, runner);
  }
}

/** Embedded PGlite with its files under DATA_DIR/pgdata (src/db/knex.ts `openDatabase` when DATABASE_URL is unset). */
export async function openPgLite(config: Config): Promise<Database> {
  const { schema } = config.database;
  const dataDir = path.resolve(config.dataDir, 'pgdata');
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(path.dirname(dataDir));
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir);
    await pglite.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
  } catch (error) {
    unlock();
    throw error;
  }
  const db = knexFactory({
    client: PgLiteClient as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    connection: { pglite } as unknown as Knex.StaticConnectionConfig,
    searchPath: [schema],
  });
  return {
    db,
    kind: 'pglite',
    close: async () => {
      try {
        await db.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        unlock();
      }
    },
  };
}
