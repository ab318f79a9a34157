import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load-spec.js';

/**
 * The autocannon load generator, in its own process (no shared event loop with a server under test).
 * argv: a JSON file with a LoadSpec. Prints one JSON LoadResult line.
 * - `bodies`: request bodies taken in turn (round robin);
 * - `chain`: refresh-token chains: each body is `grant_type=refresh_token&refresh_token=` + a token from a pool,
 *   and each answer's new refresh token goes back into the pool (rotation, as a client keeps its newest token).
 */
const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
const pool = [...(spec.chain ?? [])];
let next = 0;
let chainBroken = 0;

const body = (): string | undefined => {
  if (spec.chain) {
    const token = pool.shift();
    return token === undefined ? undefined : `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`;
  }
  return spec.bodies ? spec.bodies[next++ % spec.bodies.length] : spec.body;
};

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  method: spec.method,
  headers: spec.headers,
  requests: [
    {
      setupRequest: (request) => {
        const value = body();
        // autocannon stops a connection whose first request cannot be built; later ones it skips.
        return value === undefined ? (null as never) : { ...request, body: value };
      },
      ...(spec.chain
        ? {
            onResponse: (status: number, responseBody: string) => {
              const token = status === 200 ? (JSON.parse(responseBody) as { refresh_token?: string }).refresh_token : undefined;
              if (token) pool.push(token);
              else chainBroken += 1;
            },
          }
        : {}),
    },
  ],
});

const output: LoadResult = {
  requests: result.requests.total,
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count])),
  ...(spec.chain ? { chainBroken } : {}),
};
process.stdout.write(`${JSON.stringify(output)}\n`);
