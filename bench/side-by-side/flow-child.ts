import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Browser } from './browser.js';
import type { FlowSpec, LoadResult } from './load-spec.js';

/**
 * The authorization-code + PKCE flow under load, in its own process: `virtualUsers` loops, each running whole
 * flows back to back with a fresh cookie jar: authorization request → login page → login → consent page →
 * consent → code at the redirect URI → code exchange at /token (HTTP Basic, code_verifier). autocannon cannot
 * follow this interaction, hence this small driver. argv: a JSON file with a FlowSpec; prints one LoadResult.
 */
const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FlowSpec;
const basic = `Basic ${Buffer.from(`${spec.client.client_id}:${spec.client.client_secret}`).toString('base64')}`;
const flowMs: number[] = [];
const tokenMs: number[] = [];
let failures = 0;
let firstFailure: string | undefined;

async function flow(): Promise<void> {
  const browser = new Browser(spec.origin);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    client_id: spec.client.client_id,
    redirect_uri: spec.redirectUri,
    response_type: 'code',
    scope: spec.scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const login = await browser.navigate(`/auth?${query}`, spec.redirectUri);
  const consent = await browser.submit(login, '/login', { email: spec.user.email, password: spec.user.password }, spec.redirectUri);
  const callback = consent.html ? await browser.submit(consent, '/confirm', {}, spec.redirectUri) : consent;
  const params = new URL(callback.url).searchParams;
  const code = params.get('code');
  if (!code || params.get('state') !== state) throw new Error(`no code at the redirect URI: ${callback.url}`);
  const started = performance.now();
  const response = await fetch(new URL('/token', spec.origin), {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: spec.redirectUri, code_verifier: verifier }),
  });
  const tokens = (await response.json()) as { access_token?: string };
  tokenMs.push(performance.now() - started);
  if (response.status !== 200 || !tokens.access_token) throw new Error(`code exchange: ${response.status} ${JSON.stringify(tokens)}`);
}

/** Whole flows back to back until the time is up (at least one). */
async function virtualUser(until: number): Promise<void> {
  do {
    const started = performance.now();
    try {
      await flow();
      flowMs.push(performance.now() - started);
    } catch (error) {
      failures += 1;
      firstFailure ??= (error as Error).message;
    }
  } while (performance.now() < until);
}

const percentile = (values: number[], p: number) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
};

const started = performance.now();
await Promise.all(Array.from({ length: spec.virtualUsers }, () => virtualUser(started + spec.durationSeconds * 1000)));
const elapsed = (performance.now() - started) / 1000;
const result: LoadResult = {
  requests: flowMs.length,
  rps: flowMs.length / elapsed,
  p50: percentile(flowMs, 50),
  p99: percentile(flowMs, 99),
  non2xx: failures,
  errors: 0,
  tokenStep: { p50: percentile(tokenMs, 50), p99: percentile(tokenMs, 99) },
};
if (firstFailure) process.stderr.write(`first failed flow: ${firstFailure}\n`);
process.stdout.write(`${JSON.stringify(result)}\n`);
