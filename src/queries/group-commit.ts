/**
 * Group commit for one hot write: while `maxInFlight` statements are already running, further calls wait and then
 * go together as one statement (`writeMany`). When the database keeps up, every call runs at once, alone; under
 * load one statement carries many rows, so Node and Postgres pay per statement far less often
 * (docs/performance.md, "Where the time goes"). Each caller's promise settles when its own row is written.
 *
 * Rows with the same key never share a statement (Postgres refuses an upsert that touches a row twice), and a
 * statement that fails is retried row by row, so one bad row fails only its own caller.
 */
export interface GroupCommitOptions<Row> {
  writeOne(row: Row): Promise<void>;
  writeMany(rows: Row[]): Promise<void>;
  /** Rows with the same key never share a statement; without it any rows may (plain inserts). */
  keyOf?(row: Row): string;
  maxInFlight: number;
  maxBatch: number;
}

interface Waiting<Row> {
  row: Row;
  resolve(): void;
  reject(error: unknown): void;
}

export function groupCommit<Row>(options: GroupCommitOptions<Row>): (row: Row) => Promise<void> {
  const { writeOne, writeMany, keyOf, maxInFlight, maxBatch } = options;
  let waiting: Array<Waiting<Row>> = [];
  let inFlight = 0;

  const takeBatch = (): Array<Waiting<Row>> => {
    const keys = new Set<string>();
    const batch: Array<Waiting<Row>> = [];
    const rest: Array<Waiting<Row>> = [];
    for (const entry of waiting) {
      const key = keyOf?.(entry.row);
      if (batch.length < maxBatch && (key === undefined || !keys.has(key))) {
        if (key !== undefined) keys.add(key);
        batch.push(entry);
      } else rest.push(entry);
    }
    waiting = rest;
    return batch;
  };

  const write = async (batch: Array<Waiting<Row>>): Promise<void> => {
    if (batch.length === 1) {
      const [only] = batch;
      await writeOne(only!.row).then(only!.resolve, only!.reject);
      return;
    }
    try {
      await writeMany(batch.map((entry) => entry.row));
      for (const entry of batch) entry.resolve();
    } catch {
      // One bad row must not fail the others: each goes again on its own and settles with its own result.
      await Promise.all(batch.map((entry) => writeOne(entry.row).then(entry.resolve, entry.reject)));
    }
  };

  const pump = (): void => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = takeBatch();
      inFlight += 1;
      void write(batch).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };

  return (row) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ row, resolve, reject });
      pump();
    });
}
