import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.js';

/**
 * Migrations are imported statically (migrations/index.ts) rather than discovered on disk, so the same
 * list runs from `dist/` and under the test runner.
 */
const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
