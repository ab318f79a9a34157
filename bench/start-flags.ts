import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  scripts?: { start?: string };
}

/** The repository root: the nearest folder up from here whose package.json has a start script (from bench/ or dist/bench/). */
function repositoryRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as PackageJson).scripts?.start) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('no package.json with a start script above bench/');
    dir = parent;
  }
}

/**
 * The Node flags of `npm start` (package.json `scripts.start`: `node <flags> dist/src/main.js`), so that the bench
 * and the tests that run the real process run it as production does. The Dockerfile's CMD repeats them;
 * test/ops/start-command.test.ts keeps the two equal.
 */
export function startCommandNodeFlags(repo = repositoryRoot()): string[] {
  const start = (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as PackageJson).scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  const main = words.indexOf('dist/src/main.js');
  if (words[0] !== 'node' || main < 1) throw new Error(`package.json scripts.start is not "node [flags] dist/src/main.js": ${start}`);
  return words.slice(1, main);
}
