import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { services } from './services.js';
import { isRunning, spawnWatched, stopWatched, type WatchedProcess } from './watched-process.js';

/**
 * A free loopback port below the kernel's ephemeral range (net.ipv4.ip_local_port_range). A private service keeps
 * its port across a stop and a restart, and Redis Cluster binds a second port later: a port from the ephemeral
 * range (what listen(0) hands out) can be taken meanwhile by any outgoing connection, and the restart then fails
 * with "Address already in use". Ports below the range are never handed out that way.
 */
async function stablePort(): Promise<number> {
  const range = existsSync('/proc/sys/net/ipv4/ip_local_port_range') ? readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8') : '32768';
  const top = Math.min(Number(range.trim().split(/\s+/)[0]) - 1 || 32767, 32767);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = 20000 + Math.floor(Math.random() * (top - 20000));
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/**
 * A private Postgres (from `initdb`, in a temp folder) and a private `redis-server`, each on a free loopback port,
 * for tests that stop and restart them. Never the machine's shared services.
 *
 * Each server runs watched (test/support/watched-process.ts): when this process goes away in any way, the server is
 * stopped too, so nothing is left running. The folders are removed by `destroy()` and, as a last resort, at process
 * exit.
 */

export interface PrivateService {
  url: string;
  port: number;
  /** Starts the server again on the same port and files (after `stop`). */
  start(): Promise<void>;
  /** A clean stop (Postgres: fast shutdown, closing every connection; Redis: SIGTERM, saving nothing). */
  stop(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** Stops the server (Postgres: immediate shutdown) and removes its files. */
  destroy(): Promise<void>;
}

const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const cleanup of cleanups) cleanup();
});

/** Resolves once `probe` succeeds; fails early when the server exits. */
async function waitUntil(what: string, probe: () => Promise<boolean>, running: WatchedProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(running)) throw new Error(`${what} exited (${running.child.exitCode ?? running.child.signalCode}):\n${running.output()}`);
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not come up in ${timeoutMs} ms:\n${running.output()}`);
}

/** A TCP connection to the port succeeds (the server accepts). */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * A private Postgres cluster: `initdb` into a temp folder, `postgres` on a free loopback port (TCP only, no
 * Unix socket in the shared /var/run), trust authentication, user `postgres`, database `postgres`.
 * Postgres refuses to run as root: as root the folder belongs to, and the server runs as, the `postgres` user.
 * Durability knobs are off (fsync): the tests crash the app, not the machine.
 */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const bin = services.postgresBinDir;
  if (!bin) throw new Error('no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)');
  const root = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-pg-'));
  const data = path.join(root, 'data');
  const sockets = path.join(root, 'sockets');
  mkdirSync(sockets);
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : undefined;
  if (user) {
    chownSync(root, user.uid, user.gid);
    chownSync(sockets, user.uid, user.gid);
  }
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  cleanups.add(cleanup);

  execFileSync(`${bin}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { stdio: 'pipe', ...user });
  const port = await stablePort();
  const output = { text: '' };
  let running: WatchedProcess | undefined;
  const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${sockets}`, '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100'];

  const start = async () => {
    running = spawnWatched(`${bin}/postgres`, args, { orphanSignal: 'TERM', user, sink: output });
    const current = running;
    await waitUntil('private postgres', async () => (await accepts(port)) && isReady(bin, port), current);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop: () => stopWatched(running, 'SIGINT'), // fast shutdown
    log: () => output.text,
    async destroy() {
      await stopWatched(running, 'SIGQUIT');
      cleanup();
      cleanups.delete(cleanup);
    },
  };
}

/** `pg_isready`: accepting connections (not just the port: also past startup and crash recovery). */
async function isReady(bin: string, port: number): Promise<boolean> {
  const pgIsReady = path.join(bin, 'pg_isready');
  if (!existsSync(pgIsReady)) return true;
  return new Promise((resolve) => {
    const check = spawn(pgIsReady, ['-q', '-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    check.once('exit', (code) => resolve(code === 0));
    check.once('error', () => resolve(false));
  });
}

/**
 * A private `redis-server` on a free loopback port, in memory only (no RDB, no AOF: a restart starts empty).
 * `cluster`: a Redis Cluster node (its cluster config file, which survives a restart, in its folder).
 */
export async function startPrivateRedis(options: { cluster?: boolean } = {}): Promise<PrivateService> {
  const bin = services.redisServerPath;
  if (!bin) throw new Error('no redis-server (apt-get install redis-server)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-redis-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  cleanups.add(cleanup);
  const port = await stablePort();
  const output = { text: '' };
  let running: WatchedProcess | undefined;
  // The cluster bus gets a free port of its own: by default it is port + 10000, which fails for a port above 55535.
  const clusterArgs = options.cluster
    ? ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000', '--cluster-port', String(await stablePort())]
    : [];
  const start = async () => {
    running = spawnWatched(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...clusterArgs], { orphanSignal: 'TERM', sink: output });
    await waitUntil('private redis', () => accepts(port), running);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: () => stopWatched(running, 'SIGTERM'),
    log: () => output.text,
    async destroy() {
      await stopWatched(running, 'SIGKILL');
      cleanup();
      cleanups.delete(cleanup);
    },
  };
}

/**
 * A private three-node Redis Cluster (no replicas), for tests that stop and restart all of it. `url` is the comma
 * list REDIS_URL takes; `start` brings every node back on its port with its cluster config, and resolves once the
 * cluster is whole again (`cluster_state:ok` on every node). The data is gone after a restart, as with one node.
 */
export async function startPrivateRedisCluster(size = 3): Promise<PrivateService> {
  const nodes: PrivateService[] = [];
  const destroyAll = () => Promise.all(nodes.map((node) => node.destroy()));
  const clusterOk = async () => (await Promise.all(nodes.map((node) => redisCli(node.port, 'cluster', 'info')))).every((info) => /^cluster_state:ok/m.test(info));
  const untilOk = async () => {
    const deadline = Date.now() + 30_000;
    while (!(await clusterOk())) {
      if (Date.now() > deadline) throw new Error(`the private Redis Cluster did not reach cluster_state:ok:\n${nodes.map((node) => node.log()).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    for (let i = 0; i < size; i += 1) nodes.push(await startPrivateRedis({ cluster: true }));
    await redisCli(nodes[0]!.port, '--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes');
    await untilOk();
  } catch (error) {
    await destroyAll();
    throw error;
  }
  return {
    url: nodes.map((node) => node.url).join(','),
    port: nodes[0]!.port,
    async start() {
      await Promise.all(nodes.map((node) => node.start()));
      await untilOk();
    },
    stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))),
    log: () => nodes.map((node) => node.log()).join('\n'),
    destroy: async () => void (await destroyAll()),
  };
}

/**
 * `redis-cli` (next to `redis-server`) against a loopback port: its output. Only `--cluster` commands fail on a
 * non-zero exit; for the others a node that does not answer gives its error text, which the callers read as "not
 * yet". Killed after 10 s; `--cluster create` after 60 s: it waits for the nodes to join, one dot a second, and on a
 * loaded machine that took longer than 10 s (CI, a6a29f0).
 */
function redisCli(port: number, ...args: string[]): Promise<string> {
  const cli = path.join(path.dirname(services.redisServerPath ?? '/usr/bin/redis-server'), 'redis-cli');
  return new Promise((resolve, reject) => {
    const child = spawn(cli, ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: args[0] === '--cluster' ? 60_000 : 10_000 });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (args[0] === '--cluster' && code !== 0 ? reject(new Error(`redis-cli ${args.join(' ')}: ${out}`)) : resolve(out)));
  });
}
