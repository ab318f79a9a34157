import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { startCommandNodeFlags } from '../../bench/start-flags.js';

/**
 * `npm start` and the Docker image start the server with the same Node flags (the heap's growth factor: see the
 * README, "Memory"), and this Node accepts them: an unknown V8 flag would stop the process before it starts.
 */
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the start command', () => {
  const flags = startCommandNodeFlags(REPO);

  it('bounds the heap growth factor', () => {
    expect(flags).toContain('--heap-growing-percent=50');
  });

  it('is the Docker image CMD, flags included', () => {
    const dockerfile = readFileSync(path.join(REPO, 'docker/Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])\s*$/m.exec(dockerfile)?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!)).toEqual(['node', ...flags, 'dist/src/main.js']);
  });

  it('runs on this Node with those flags', () => {
    const run = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("started")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('started');
  });
});
