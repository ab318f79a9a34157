/** Messages between bench/run.ts and a server child (IPC over child_process.fork). */

export type TargetKind = 'ours' | 'bare';

/** Sent once by the child when its server listens. */
export interface Ready {
  type: 'ready';
  name: string;
  url: string;
  client: { client_id: string; client_secret: string };
  user: { email: string; password: string };
}

export type Command =
  /** Refresh tokens, each of its own grant, for the target's user and client. */
  | { id: number; op: 'mint'; count: number }
  /** Ours only: `count` fresh integration connections for the client and a bearer token to vend them with. */
  | { id: number; op: 'seed-vending'; count: number }
  | { id: number; op: 'profile-start' }
  /** Writes the CPU profile taken since profile-start to `file`. */
  | { id: number; op: 'profile-stop'; file: string }
  | { id: number; op: 'memory'; collect?: boolean }
  /** process.cpuUsage() of the server process: user + system µs so far. */
  | { id: number; op: 'cpu' }
  | { id: number; op: 'stop' };

export interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  error?: string;
  result?: unknown;
}

export interface Memory {
  rssMb: number;
  /** Peak RSS of the process (VmHWM), when /proc tells. */
  peakRssMb?: number;
  heapUsedMb: number;
  /** What V8 holds for its heap (used or not), and memory outside it (Buffers): where RSS beyond the heap goes. */
  heapTotalMb: number;
  externalMb: number;
}

export interface VendingFixture {
  token: string;
  provider: string;
  purposes: string[];
}
