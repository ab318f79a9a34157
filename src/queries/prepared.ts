import type { Knex } from 'knex';
import type { StatementRunner } from '../db/knex.js';

export interface StatementResult<Row> {
  rows: Row[];
  /** Rows inserted, updated or deleted. */
  count: number;
}

/**
 * Hot statements (run on every token request) as named prepared statements on Postgres: parsed and planned once
 * per connection instead of per call, and no query builder or knex pool in between (the statements have a
 * `pg.Pool` of their own: src/db/knex.ts `splitPool`). PGlite (one in-process connection) runs the same SQL
 * through knex.raw. `sql` uses `?` placeholders (as knex.raw); each name must always carry the same SQL.
 * https://node-postgres.com/features/queries#prepared-statements
 */
export function preparedStatements(db: Knex, statements?: StatementRunner) {
  return function statement<Row>(name: string, sql: string) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return async (values: unknown[]): Promise<StatementResult<Row>> => {
      if (!statements) {
        const result = (await db.raw(sql, values as Knex.RawBinding[])) as { rows: Row[]; rowCount?: number; affectedRows?: number };
        return { rows: result.rows, count: result.rowCount ?? result.affectedRows ?? 0 };
      }
      const result = await statements.query({ name, text, values });
      return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
    };
  };
}
