import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCommandNodeFlags } from '../start-flags.js';
import { processCpuSeconds } from './cpu.js';

/** The app's own entry point (dist/src/main.js): each instance is started the way production starts it, npm start's flags included. */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');
const READY = 'oauth-hub is listening';

export interface Instance {
  pid: number;
  /** Warnings and errors the instance logged (JSON log lines), with a few distinct messages. */
  log: { warn: number; error: number; samples: string[] };
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  /** SIGTERM (the app's graceful shutdown), SIGKILL after 20 s. */
  stop(): Promise<void>;
}

function watchLog(child: ChildProcess, log: Instance['log'], onReady: () => void): void {
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line.startsWith(READY)) onReady();
      if (!line.startsWith('{')) continue;
      let entry: { level?: string; message?: string; error?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if (entry.level !== 'warn' && entry.level !== 'error') continue;
      log[entry.level] += 1;
      const sample = `${entry.level}: ${entry.message}${entry.error ? ` (${entry.error})` : ''}`;
      if (log.samples.length < 5 && !log.samples.includes(sample)) log.samples.push(sample);
    }
  });
}

/** Starts one app instance with this environment (and no other) and waits until it listens. */
export async function startInstance(env: Record<string, string>, execArgv: string[] = []): Promise<Instance> {
  const child = spawn(process.execPath, [...startCommandNodeFlags(), ...execArgv, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: Instance['log'] = { warn: 0, error: 0, samples: [] };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    watchLog(child, log, resolve);
    void exited.then((code) => reject(new Error(`instance exited (${code}) before it was ready: ${stderr.trim()}`)));
  });
  let cpuAtExit: number | undefined;
  return {
    pid: child.pid!,
    log,
    cpuSeconds: () => cpuAtExit ?? processCpuSeconds(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      cpuAtExit = processCpuSeconds(child.pid!);
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(forced);
    },
  };
}
