import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startCommandNodeFlags } from '../start-flags.js';
import type { Command, Ready, Reply, TargetKind } from './protocol.js';
import type { FlowSpec, LoadResult, LoadSpec } from './load-spec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** A server under test in a child process, answering Commands. */
export interface ServerChild extends Ready {
  kind: TargetKind;
  pid: number;
  call<T>(command: DistributiveOmit<Command, 'id'>): Promise<T>;
  /** Stops the server and waits for the process to end (killed, by its pid, after 20 s). */
  stop(): Promise<void>;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export async function startServerChild(kind: TargetKind, options: { bareLogin: string; bareStore: string }): Promise<ServerChild> {
  const child: ChildProcess = fork(path.join(here, 'server-child.js'), [kind, options.bareLogin, options.bareStore], {
    // Ours runs with npm start's Node flags, as in production; the bare library with Node's defaults.
    execArgv: ['--expose-gc', ...(kind === 'ours' ? startCommandNodeFlags() : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before it was ready`)));
    child.on('message', (message: Ready | Reply) => {
      if (message.type === 'ready') return resolve(message);
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`${kind} server: ${message.error}`));
    });
  });
  const call = <T>(command: DistributiveOmit<Command, 'id'>) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...command, id });
    });
  return {
    ...ready,
    kind,
    pid: child.pid!,
    call,
    async stop() {
      if (child.exitCode !== null) return;
      await call({ op: 'stop' }).catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function runChild(script: string, spec: LoadSpec | FlowSpec): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
  try {
    const file = path.join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const { stdout, stderr } = await run(process.execPath, [path.join(here, script), file], { maxBuffer: 1 << 24 });
    if (stderr.trim()) process.stderr.write(stderr);
    return JSON.parse(stdout) as LoadResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** autocannon in a third process. */
export const runLoad = (spec: LoadSpec) => runChild('load-child.js', spec);

/** The authorization-code flow driver in a third process. */
export const runFlows = (spec: FlowSpec) => runChild('flow-child.js', spec);
