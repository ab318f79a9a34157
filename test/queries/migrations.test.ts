import { readdirSync } from 'node:fs';
import path from 'node:path';
import { migrations } from '../../migrations/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ACTOR_INDEX = 'oauth_states_actor_index';

describe('migrations', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.destroy();
  });

  const indexNames = async (table: string): Promise<string[]> => {
    const result = await server.context.database.db.raw(
      'SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname',
      [table],
    );
    return result.rows.map((row: { indexname: string }) => row.indexname);
  };

  test('pending links are indexed by actor (a user or client delete drops them without a scan); the step goes down and up again', async () => {
    expect(await indexNames('oauth_states')).toContain(ACTOR_INDEX);

    const step = migrations['20261122120000_oauth_states_actor_index']!;
    await step.down!(server.context.database.db);
    expect(await indexNames('oauth_states')).not.toContain(ACTOR_INDEX);
    await step.up(server.context.database.db);
    expect(await indexNames('oauth_states')).toContain(ACTOR_INDEX);
  });

  test('every migration file is listed (migrations are imported, not discovered), under its file name, in order', () => {
    const onDisk = readdirSync(path.join(process.cwd(), 'migrations'))
      .filter((file) => /^\d{14}_.+\.ts$/.test(file))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort();
    expect(Object.keys(migrations)).toEqual(onDisk);
  });
});
