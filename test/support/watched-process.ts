import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A child process that cannot outlive this one: it runs under a tiny sh wrapper that `exec`s it (so the child's pid
 * is the program's) after starting a watcher on our end of a pipe. When this process goes away in any way (a killed
 * jest worker included) the pipe closes and the watcher sends `orphanSignal` to the program. When the program exits
 * first, we tell the watcher `done`, and it leaves without signalling a pid that may by then be another process's.
 * Used for the private
 * Postgres and Redis (test/support/private-services.ts) and the server process of the fault tests
 * (test/support/app-process.ts).
 */
export interface WatchedProcess {
  child: ChildProcess;
  exited: Promise<void>;
  /** The last `keepChars` characters of stdout and stderr together. */
  output(): string;
}

export interface WatchedOptions {
  orphanSignal: 'TERM' | 'KILL';
  env?: NodeJS.ProcessEnv;
  user?: { uid: number; gid: number };
  keepChars?: number;
  /** Where the output goes: pass the same one to each start of a restarted program to keep one log across runs. */
  sink?: { text: string };
}

// Stdin (kept as fd 3, since a background job's stdin is /dev/null) is the pipe from this process.
const wrapper = (signal: string) =>
  ['exec 3<&0', `(read -r line <&3; [ "$line" = done ] || kill -${signal} $$ 2>/dev/null) &`, 'exec "$@" </dev/null 3<&-'].join('\n');

export function spawnWatched(command: string, args: string[], options: WatchedOptions): WatchedProcess {
  const child = spawn('/bin/sh', ['-c', wrapper(options.orphanSignal), 'wrapper', command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
    ...options.user,
  });
  const keep = options.keepChars ?? 20_000;
  const sink = options.sink ?? { text: '' };
  const append = (chunk: Buffer) => {
    sink.text = (sink.text + chunk.toString('utf8')).slice(-keep);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      child.stdin?.end('done\n');
      resolve();
    }),
  );
  child.stdin?.on('error', () => {}); // the watcher may be gone already (EPIPE)
  return { child, exited, output: () => sink.text };
}

/** Whether it is still running (has not exited or been killed). */
export const isRunning = (watched: WatchedProcess | undefined): boolean =>
  watched !== undefined && watched.child.exitCode === null && watched.child.signalCode === null;

/** Sends `signal`, SIGKILL after `timeoutMs`, waits for the exit, and lets the watcher go. */
export async function stopWatched(watched: WatchedProcess | undefined, signal: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
  if (!watched || !isRunning(watched)) return;
  watched.child.kill(signal);
  const timer = setTimeout(() => watched.child.kill('SIGKILL'), timeoutMs);
  await watched.exited;
  clearTimeout(timer);
}
