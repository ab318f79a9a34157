import path from 'node:path';

/** Which package, part of our code, Node internal or native code a profile frame belongs to. */
export function area(url: string, name: string): string {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/dist/src/')) return `ours: ${url.split('/dist/src/')[1]!.split('/')[0]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  if (!url) return `native: ${name || '(anonymous)'}`;
  return path.basename(url);
}
