import { PassThrough } from 'node:stream';
import { createLogger } from '../src/logger.js';
import { startTestServer, type TestServer } from './support/server.js';
import { authorize, createUser, introspect, PASSWORD, postForm, registerClient } from './support/flow.js';

let server: TestServer;
const lines: string[] = [];
beforeAll(async () => {
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  // The most verbose level, so every line the code can write is seen.
  server = await startTestServer({ logger: createLogger('silly', { stream }), config: { logLevel: 'silly' } });
});
afterAll(async () => {
  await server?.destroy();
});

test('request logs carry a request id and no token, code, secret or password, at every level', async () => {
  const user = await createUser(server);
  const client = await registerClient(server);
  const { tokens } = await authorize(server, client, user);
  const refreshed = await postForm(server, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, client);
  await introspect(server, client, refreshed.body.access_token);
  await postForm(server, '/token', { grant_type: 'authorization_code', code: 'bogus-code', redirect_uri: 'https://x', code_verifier: 'v'.repeat(43) }, client);

  const requestLines = lines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'request');
  expect(requestLines.length).toBeGreaterThan(8);
  expect(requestLines.every((entry) => typeof entry.requestId === 'string' && typeof entry.status === 'number')).toBe(true);
  expect(requestLines.some((entry) => entry.path === '/token' && entry.status === 200)).toBe(true);

  const all = lines.join('\n');
  for (const secret of [tokens.access_token, tokens.refresh_token!, tokens.id_token!, refreshed.body.access_token, refreshed.body.refresh_token, client.client_secret!, PASSWORD, 'bogus-code']) {
    expect(all).not.toContain(secret);
  }
});

test('the redaction backstop hides fields named like secrets, at any depth', () => {
  const out: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
  const logger = createLogger('info', { stream });
  logger.info('x', { client_secret: 's3cr3t', nested: { refresh_token: 'rt-value', ok: 'visible' }, list: [{ password: 'pw-value' }] });
  const line = out.join('');
  expect(line).toContain('visible');
  for (const value of ['s3cr3t', 'rt-value', 'pw-value']) expect(line).not.toContain(value);
});
