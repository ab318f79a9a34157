import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken } from '../support/api.js';

/**
 * JSON between systems is UTF-8 (RFC 8259 §8.1). The shared JSON parser (src/http/validate.ts) decoded every body
 * as UTF-8 leniently: a latin1 body or stray bytes became U+FFFD and were stored (`"Jos\xe9"` → `"Jos\uFFFD"`,
 * a password `1234567\xff\xfe` → `1234567\uFFFD\uFFFD`). Now a declared charset other than UTF-8 is a 415 and bytes
 * that are not UTF-8 a 400, and nothing is stored; UTF-8 with any characters is stored exactly.
 */
let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await adminToken(server);
});
afterAll(async () => server?.destroy());

/** Raw bytes, exactly as given, to POST /admin/users. */
async function postUser(bytes: Buffer, type = 'application/json', headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'content-type': type, ...headers },
    body: bytes,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const userJson = (email: string, rest: string) => `{"email":"${email}","password":"long-enough-password"${rest}}`;
/** A user body with `name` spliced in as raw bytes. */
const withName = (email: string, name: Buffer) => Buffer.concat([Buffer.from(`{"email":"${email}","password":"long-enough-password","name":"`), name, Buffer.from('"}')]);
const usersNamed = (email: string) => server.context.database.db('users').where({ email });

test('a body declaring a charset other than UTF-8 is a 415 and stores nothing', async () => {
  const cases: Array<[string, Buffer]> = [
    ['application/json; charset=latin1', withName('l1@example.com', Buffer.from('Jos\xe9', 'latin1'))],
    ['application/json; charset=ISO-8859-1', withName('l2@example.com', Buffer.from('Jos\xe9', 'latin1'))],
    ['application/json; charset=utf-16', Buffer.from(userJson('l3@example.com', ''), 'utf16le')],
    ['application/json; charset=bogus', Buffer.from(userJson('l4@example.com', ''))],
    ['application/merge-patch+json; charset="windows-1252"', Buffer.from(userJson('l5@example.com', ''))],
  ];
  for (const [type, bytes] of cases) {
    const response = await postUser(bytes, type);
    expect({ type, status: response.status, body: response.body }).toEqual({
      type,
      status: 415,
      body: { error: 'invalid_request', error_description: expect.stringMatching(/must be UTF-8 JSON.*charset/) },
    });
  }
  expect(await server.context.database.db('users').whereIn('email', ['l1@example.com', 'l2@example.com', 'l3@example.com', 'l4@example.com', 'l5@example.com'])).toEqual([]);
});

test('bytes that are not UTF-8 are a 400 and store nothing, compressed or not', async () => {
  const invalid: Array<[string, Buffer, Record<string, string>?]> = [
    ['bad1@example.com', Buffer.from('{"email":"bad1@example.com","password":"1234567\xff\xfe"}', 'latin1')],
    ['bad2@example.com', withName('bad2@example.com', Buffer.from('Jos\xe9', 'latin1'))],
    ['bad3@example.com', withName('bad3@example.com', Buffer.from([0xc0, 0xaf]))], // overlong "/"
    ['bad4@example.com', withName('bad4@example.com', Buffer.from([0xed, 0xa0, 0x80]))], // a UTF-16 surrogate, UTF-8 encoded
    ['bad5@example.com', withName('bad5@example.com', Buffer.from([0xf0, 0x9f, 0xa6]))], // a truncated sequence
    ['bad6@example.com', gzipSync(withName('bad6@example.com', Buffer.from('Jos\xe9', 'latin1'))), { 'content-encoding': 'gzip' }],
  ];
  for (const [email, bytes, headers] of invalid) {
    const response = await postUser(bytes, 'application/json', headers);
    expect({ email, status: response.status, body: response.body }).toEqual({ email, status: 400, body: { error: 'invalid_request', error_description: 'the body is not valid UTF-8' } });
    expect(await usersNamed(email)).toEqual([]);
  }
});

test('UTF-8 with any characters is stored exactly, whatever spelling of the charset; a leading BOM is ignored', async () => {
  const cases: Array<[string, string, string, Buffer?]> = [
    ['ok1@example.com', 'José', 'application/json'],
    ['ok2@example.com', 'Zoë 🦊 — 東京 \uFFFD', 'application/json; charset=UTF-8'],
    ['ok3@example.com', 'Ångström', 'application/json; charset=utf8'],
    ['ok4@example.com', 'Ñandú', 'application/json', Buffer.from([0xef, 0xbb, 0xbf])],
  ];
  for (const [email, name, type, prefix] of cases) {
    const bytes = Buffer.concat([prefix ?? Buffer.alloc(0), withName(email, Buffer.from(name, 'utf8'))]);
    const response = await postUser(bytes, type);
    expect({ email, status: response.status }).toEqual({ email, status: 201 });
    const read = await fetch(`${server.url}/admin/users/${response.body.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await read.json()) as { name: string }).name).toBe(name);
    expect((await usersNamed(email)).map((row: { name: string }) => row.name)).toEqual([name]);
  }
});

test('the size limit and the content-coding rules still hold: 413 (also decompressed), 415, and the 413 is answered', async () => {
  const big = Buffer.from(userJson('big@example.com', `,"name":"${'a'.repeat(70_000)}"`));
  const tooLarge = await postUser(big);
  expect(tooLarge).toEqual({ status: 413, body: { error: 'invalid_request', error_description: 'request entity too large' } });
  // 70 kB of JSON in a few hundred compressed bytes: the limit counts what the body decompresses to.
  const bomb = await postUser(gzipSync(big), 'application/json', { 'content-encoding': 'gzip' });
  expect(bomb.status).toBe(413);
  const unknownCoding = await postUser(Buffer.from(userJson('zz@example.com', '')), 'application/json', { 'content-encoding': 'zz' });
  expect(unknownCoding).toEqual({ status: 415, body: { error: 'invalid_request', error_description: 'Unsupported Content-Encoding: zz' } });
  expect(await server.context.database.db('users').whereIn('email', ['big@example.com', 'zz@example.com'])).toEqual([]);
  // Strict JSON and prototype keys, as before.
  expect((await postUser(Buffer.from('"a string"'))).status).toBe(400);
  expect((await postUser(Buffer.from('{"__proto__":{"x":1},"email":"p@example.com"}'))).body.error_description).toMatch(/prototype/);
});
