import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'winston';
import type { Config } from '../config.js';

// Return BIGINT (COUNT(*)) as numbers; our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * knex's own messages (a refused connection while Postgres is down, a connection that died) through our logger,
 * one line each: knex would print them, stack included, with console.log.
 */
const knexLog = (logger: Logger) => {
  const line = (message: unknown) => String(message).split('\n', 1)[0];
  return {
    warn: (message: unknown) => logger.warn('database', { detail: line(message) }),
    error: (message: unknown) => logger.error('database', { detail: line(message) }),
    deprecate: (message: unknown) => logger.warn('database', { detail: line(message) }),
    debug: (message: unknown) => logger.debug('database', { detail: line(message) }),
  };
};

/** Runs one named prepared statement on a pooled connection (src/queries/prepared.ts). A `pg.Pool` is one. */
export interface StatementRunner {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

export interface Database {
  db: Knex;
  kind: 'postgres' | 'pglite';
  /** Postgres only: the pool of the hot prepared statements (absent on PGlite, where they go through `db`). */
  statements?: StatementRunner;
  close(): Promise<void>;
}

/**
 * DATABASE_POOL_MAX connections in all: half for the hot prepared statements, the rest for knex (at least one each).
 * The statements run on a plain `pg.Pool` rather than through knex's pool: knex's runner and its pool's acquire and
 * release cost about 30 promises per statement (docs/performance.md, fourth round).
 */
export function splitPool(poolMax: number): { knex: number; statements: number } {
  const statements = Math.max(1, Math.ceil(poolMax / 2));
  return { knex: Math.max(1, poolMax - statements), statements };
}

/**
 * Postgres when DATABASE_URL is set, otherwise embedded PGlite with its files under DATA_DIR/pgdata.
 * Both speak the same SQL dialect, so one set of migrations and queries serves both.
 * PGlite has exactly one connection: never hold a transaction across an HTTP call.
 */
export async function openDatabase(config: Config, logger?: Logger): Promise<Database> {
  const { url, schema, poolMax } = config.database;
  if (url) {
    const bootstrap = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    try {
      await bootstrap.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
    } finally {
      await bootstrap.destroy();
    }
    const sizes = splitPool(poolMax);
    const db = knexFactory({
      client: 'pg',
      connection: url,
      searchPath: [schema],
      pool: { min: 0, max: sizes.knex },
      acquireConnectionTimeout: 10_000,
      ...(logger ? { log: knexLog(logger) } : {}),
    });
    // The schema is validated as a plain identifier (src/config.ts): safe in the startup options.
    const statements = new pg.Pool({ connectionString: url, max: sizes.statements, options: `-c search_path=${schema}`, connectionTimeoutMillis: 10_000 });
    // An idle connection that dies (Postgres restarted) is dropped by the pool; without a listener it would crash us.
    statements.on('error', (error) => logger?.warn('database', { detail: `idle connection lost: ${error.message}` }));
    return { db, kind: 'postgres', statements, close: async () => void (await Promise.all([db.destroy(), statements.end()])) };
  }
  // Imported only when used: the embedded database is tens of megabytes of resident code a Postgres deployment never runs.
  const { openPgLite } = await import('./pglite.js');
  return openPgLite(config);
}
