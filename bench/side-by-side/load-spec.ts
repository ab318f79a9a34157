/** What a load child runs (autocannon, or the flow driver) and what it answers. */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
  body?: string;
  bodies?: string[];
  /** Refresh tokens to start the chains from (see load-child.ts). */
  chain?: string[];
}

export interface LoadResult {
  /** Requests (or flows) completed. */
  requests: number;
  /** Per second: requests, or whole flows for the authorization-code scenario. */
  rps: number;
  /** Latency in ms: of a request, or of a whole flow. */
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statusCodes?: Record<string, number>;
  chainBroken?: number;
  /** CPU time of the server process per request (or flow), in ms: not skewed by other work on the machine. */
  cpuMsPerRequest?: number;
  /** Flow scenario: the code → token exchange request alone. */
  tokenStep?: { p50: number; p99: number };
}

export interface FlowSpec {
  origin: string;
  client: { client_id: string; client_secret: string };
  user: { email: string; password: string };
  redirectUri: string;
  scope: string;
  virtualUsers: number;
  durationSeconds: number;
}
