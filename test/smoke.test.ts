import Provider from 'oidc-provider';
import knexFactory from 'knex';
import { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';
import * as jose from 'jose';

test('smoke', async () => {
  const db = knexFactory({ client: ClientPgLite as any, dialect: 'postgres', connection: { pglite: new PGlite() } as any });
  const r = await db.raw('select 1+1 as x');
  expect(r.rows[0].x).toBe(2);
  await db.destroy();
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  const p = new Provider('http://localhost:3000', { jwks: { keys: [{ ...jwk, kid: 'a', alg: 'ES256', use: 'sig' }] } as any });
  expect(p.issuer).toBe('http://localhost:3000');
});
