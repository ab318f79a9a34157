import { readFileSync } from 'node:fs';
import path from 'node:path';
import { area } from './profile-areas.js';

/**
 * Where the time goes in a .cpuprofile written by `npm run bench -- --profile DIR`: self time by area
 * (package, our code, Node internals, GC, idle) and the top functions. Usage:
 * `node dist/bench/side-by-side/profile-summary.js FILE.cpuprofile [top]`.
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const busy = total - [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);

const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, time] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = area(url, functionName);
  areas.set(where, (areas.get(where) ?? 0) + time);
  const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : ''}`;
  functions.set(key, (functions.get(key) ?? 0) + time);
}

// Inclusive: a sample counts for every area on its stack (so "knex" includes the pg driver work it called).
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    if (url || ['(garbage collector)', '(program)'].includes(functionName)) seen.add(area(url, functionName));
  }
  for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

const pct = (t: number, of: number) => `${((100 * t) / of).toFixed(1)}%`.padStart(6);
const top = Number(topArg ?? 25);
process.stdout.write(`${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, busy ${pct(busy, total)}\n\nself time by area (% of busy):\n`);
for (const [name, time] of [...areas].filter(([name]) => name !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, busy)}  ${name}\n`);
process.stdout.write(`\ninclusive time by area (% of busy; a sample counts for each area on its stack):\n`);
for (const [name, time] of [...inclusive].filter(([name]) => name !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, busy)}  ${name}\n`);
process.stdout.write(`\ntop functions by self time (% of busy):\n`);
for (const [name, time] of [...functions].filter(([name]) => !name.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, busy)}  ${name}\n`);
