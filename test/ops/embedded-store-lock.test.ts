import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataDirInUse, lockDataDir } from '../../src/db/data-dir-lock.js';
import { buildApp, startAppProcess, type AppBuild, type AppProcess } from '../support/app-process.js';

/**
 * The embedded store (PGlite) is one process's: a CLI command started while the server runs on the same DATA_DIR
 * used to open the same files and lose what it wrote without a word. Now it is refused, and a lock left by a
 * process that died is taken over.
 */
describe('the embedded store is held by one process', () => {
  let build: AppBuild;
  let app: AppProcess;
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(path.dirname(build.main), 'cli.js'), ...args], { env: app.env, encoding: 'utf8' });

  beforeAll(async () => {
    build = buildApp();
    app = await startAppProcess(build, {});
  }, 90_000);

  afterAll(async () => {
    await app?.destroy();
    build?.remove();
  });

  it('refuses a CLI command while the server runs, and the command changes nothing', async () => {
    const refused = cli('admin:create', 'While running');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`the embedded database in ${app.env.DATA_DIR} is in use by process \\d+: only one process may open it`));
    expect(refused.stdout).not.toMatch(/client_id/);
    // The server is unharmed: its own admin client still gets a token.
    const token = await fetch(`${app.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${app.admin.client_id}:${app.admin.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
    });
    expect(token.status).toBe(200);
  }, 30_000);

  it('takes over the lock of a server killed with SIGKILL, and what the CLI wrote is there when the server is back', async () => {
    await app.kill();
    expect(existsSync(path.join(app.env.DATA_DIR!, 'pgdata.lock'))).toBe(true);

    const created = cli('admin:create', 'After the crash');
    expect(created.stderr).not.toMatch(/in use/);
    expect(created.status).toBe(0);
    const clientId = /client_id:\s+(\S+)/.exec(created.stdout)?.[1];
    const clientSecret = /client_secret:\s+(\S+)/.exec(created.stdout)?.[1];
    expect(clientId && clientSecret).toBeTruthy();
    // The CLI let go of the store when it exited.
    expect(existsSync(path.join(app.env.DATA_DIR!, 'pgdata.lock'))).toBe(false);

    await app.start();
    const token = await fetch(`${app.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
    });
    expect(token.status).toBe(200);
    expect(await token.json()).toMatchObject({ token_type: 'Bearer', scope: 'admin' });
  }, 90_000);
});

describe('lockDataDir', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-lock-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lockFile = () => path.join(dir, 'pgdata.lock');

  it('writes this process id, refuses a second hold in the same process, and is free again once released', () => {
    const release = lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(process.pid));
    expect(() => lockDataDir(dir)).toThrow(DataDirInUse);
    release();
    expect(existsSync(lockFile())).toBe(false);
    lockDataDir(dir)();
  });

  it('refuses while another live process holds it, and leaves its lock in place', async () => {
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(lockFile(), `${other.pid}\n`);
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by process ${other.pid}`));
      expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(other.pid));
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
    }
    // The holder is gone now: its lock is stale and taken over.
    const release = lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(process.pid));
    release();
  });

  it('takes over a lock whose content is not a process id', () => {
    writeFileSync(lockFile(), 'garbage');
    const release = lockDataDir(dir);
    expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(process.pid));
    release();
  });
});
