import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Why the embedded database was not opened: another live process holds its files. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}: only one process may open it. ` +
        'Stop that process first (e.g. the server, before `npm run cli`), or set DATABASE_URL to use Postgres, ' +
        `where any number of processes may run side by side. If no such process runs, remove ${path.join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirInUse';
  }
}

/** Next to `pgdata`, not in it: PGlite writes a `postmaster.pid` of its own there (with a made-up pid). */
const LOCK_FILE = 'pgdata.lock';

function holderOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock files this process holds: a second open in the same process is refused like one from another process. */
const heldHere = new Set<string>();

/** The lock file appears whole (pid written) or not at all: written aside, then hard-linked into place (EEXIST if taken). */
function tryCreate(file: string): boolean {
  const draft = `${file}.${process.pid}`;
  writeFileSync(draft, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(draft);
  }
}

/**
 * Takes the embedded database's files for this process, as Postgres does with its pid file. PGlite has no lock of
 * its own, so a second process (`npm run cli` while `npm start` runs) would open the same files and one of the two
 * would silently lose what it wrote. A file left by a process that is gone (`kill -9`) is stale and taken over.
 * Returns the release function; the lock also goes when the process exits.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  if (heldHere.has(file)) throw new DataDirInUse(dataDir, process.pid);
  while (!tryCreate(file)) {
    const holder = holderOf(file);
    // Our own pid in a file this process did not write is a predecessor's (a container restarted with the same pid).
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) throw new DataDirInUse(dataDir, holder);
    // Stale: moved aside atomically, so of two processes taking it over at once only one moves it. What was moved is
    // checked again: another process's fresh lock (it took over in between) is put back and this one gives up.
    const aside = `${file}.stale.${process.pid}`;
    try {
      renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = holderOf(aside);
    if (moved !== undefined && moved !== holder) {
      // A live lock, created after the read above: put it back before giving up.
      try {
        linkSync(aside, file);
      } finally {
        unlinkSync(aside);
      }
      throw new DataDirInUse(dataDir, moved);
    }
    unlinkSync(aside);
  }
  heldHere.add(file);
  const release = () => {
    process.off('exit', release);
    heldHere.delete(file);
    if (holderOf(file) !== process.pid) return;
    try {
      unlinkSync(file);
    } catch {
      // Already gone: nothing to release.
    }
  };
  process.on('exit', release);
  return release;
}
