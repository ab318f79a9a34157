import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process named `postgres`, by pid (all backends on the machine, not only ours). */
export function postgresCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') out.set(Number(entry), processCpuSeconds(Number(entry)));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Busy and total CPU time of the whole machine so far (ms, all cores). */
export const machineTimes = () =>
  os.cpus().reduce(
    (acc, { times: t }) => ({ busy: acc.busy + t.user + t.nice + t.sys + t.irq, all: acc.all + t.user + t.nice + t.sys + t.irq + t.idle }),
    { busy: 0, all: 0 },
  );
