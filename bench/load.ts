import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

/**
 * The load generator, in its own process so it does not share an event loop with the servers under test.
 * argv: url, file with one refresh token per line, Basic credentials, connections. Prints one JSON line.
 */
const [url, tokensFile, basic, connections] = process.argv.slice(2) as [string, string, string, string];
const tokens = readFileSync(tokensFile, 'utf8').split('\n').filter(Boolean);
let next = 0;

const result = await autocannon({
  url,
  connections: Number(connections),
  amount: tokens.length,
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}`, 'user-agent': 'Apache-HttpClient/4.5.x (Java/1.8.0_152)' },
  requests: [{ setupRequest: (request) => ({ ...request, body: `grant_type=refresh_token&refresh_token=${tokens[next++]}` }) }],
});
process.stdout.write(`${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors })}\n`);
