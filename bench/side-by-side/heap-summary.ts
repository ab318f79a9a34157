import { readFileSync } from 'node:fs';
import path from 'node:path';
import { area } from './profile-areas.js';

/**
 * Where the allocations come from in a .heapprofile written by `npm run bench -- --profile DIR` (sampled next to
 * the CPU profile): bytes allocated during the phase by area and by function, self, and inclusive for our own code
 * (what each of our functions and everything it called allocated). Usage:
 * `node dist/bench/side-by-side/heap-summary.js FILE.heapprofile [top]`.
 */
interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-summary FILE.heapprofile [top]');
const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
const top = Number(topArg ?? 25);

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
const ourInclusive = new Map<string, number>();
const add = (map: Map<string, number>, key: string, bytes: number) => map.set(key, (map.get(key) ?? 0) + bytes);
const label = ({ functionName, url, lineNumber }: HeapNode['callFrame']) =>
  `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : ''}`;

/** Returns the bytes allocated in this subtree; credits each of our frames on the way with its subtree's bytes. */
function walk(node: HeapNode, ours: Set<string>): number {
  const { url, functionName } = node.callFrame;
  add(byArea, area(url, functionName), node.selfSize);
  add(byFunction, label(node.callFrame), node.selfSize);
  const mine = url.includes('/dist/src/') ? label(node.callFrame) : undefined;
  const outermost = mine !== undefined && !ours.has(mine);
  if (outermost) ours.add(mine);
  const total = node.selfSize + node.children.reduce((sum, child) => sum + walk(child, ours), 0);
  if (outermost) {
    ours.delete(mine);
    add(ourInclusive, mine, total);
  }
  return total;
}
const all = walk(head, new Set());

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`.padStart(9);
const pct = (bytes: number) => `${((100 * bytes) / all).toFixed(1)}%`.padStart(6);
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}:\n`);
  for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${mb(bytes)} ${pct(bytes)}  ${name}\n`);
};
process.stdout.write(`${path.basename(file)}: ${mb(all).trim()} allocated (sampled)\n`);
print('allocated by area (self)', byArea);
print('allocated by function (self)', byFunction);
print('allocated under each of our functions (inclusive)', ourInclusive);
