import type { Knex } from 'knex';

export interface StatementResult<Row> {
  rows: Row[];
  /** Rows inserted, updated or deleted. */
  count: number;
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/**
 * Hot statements (run on every token request) as named prepared statements on Postgres: parsed and planned once
 * per connection instead of per call, and no query builder in between: about a third less CPU per statement, Node
 * and Postgres backend together, on the bench machine (docs/performance.md).
 * PGlite (one in-process connection) runs the same SQL through knex.raw.
 * `sql` uses `?` placeholders (as knex.raw); each name must always carry the same SQL.
 * https://node-postgres.com/features/queries#prepared-statements
 */
export function preparedStatements(db: Knex) {
  const client = db.client as {
    config: { client?: unknown };
    acquireConnection(): Promise<PgConnection>;
    releaseConnection(connection: PgConnection): Promise<void>;
  };
  const onPg = client.config.client === 'pg';

  return function statement<Row>(name: string, sql: string) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return async (values: unknown[]): Promise<StatementResult<Row>> => {
      if (!onPg) {
        const result = (await db.raw(sql, values as Knex.RawBinding[])) as { rows: Row[]; rowCount?: number; affectedRows?: number };
        return { rows: result.rows, count: result.rowCount ?? result.affectedRows ?? 0 };
      }
      const connection = await client.acquireConnection();
      try {
        const result = await connection.query({ name, text, values });
        return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
      } finally {
        await client.releaseConnection(connection);
      }
    };
  };
}
