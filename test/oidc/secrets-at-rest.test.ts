import { Redis } from 'ioredis';
import { startTestServer, type TestServer } from '../support/server.js';
import { authorize, createUser, registerClient } from '../support/flow.js';
import { services } from '../support/services.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.destroy();
});

/** Every string value in the stores this server owns: all Postgres tables of its schema and its Redis keys. */
async function dumpStores(): Promise<string> {
  const { db } = server.context.database;
  const tables = ['oidc_models', 'clients', 'users', 'signing_keys'];
  const rows = await Promise.all(tables.map((table) => db(table).select('*')));
  let dump = JSON.stringify(rows);
  if (services.redisUrl) {
    const redis = new Redis(services.redisUrl);
    try {
      const prefix = server.context.config.redis.keyPrefix;
      for (const key of await redis.keys(`${prefix}*`)) {
        const type = await redis.type(key);
        dump += key + JSON.stringify(type === 'hash' ? await redis.hgetall(key) : type === 'set' ? await redis.smembers(key) : await redis.get(key));
      }
    } finally {
      redis.disconnect();
    }
  }
  return dump;
}

test('no token, session value, client secret or password is stored in plaintext', async () => {
  const user = await createUser(server);
  const client = await registerClient(server);
  const { tokens } = await authorize(server, client, user, 'openid email');
  const dump = await dumpStores();
  expect(dump).toContain(user.email); // the scan does see the data
  for (const secret of [tokens.access_token, tokens.refresh_token!, client.client_secret!, 'correct horse battery staple']) {
    expect(dump).not.toContain(secret);
  }
  // Signing keys are encrypted: no private JWK member in the clear.
  expect(dump).not.toMatch(/"d":"/);
});
