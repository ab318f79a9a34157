import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A minimal OAuth token endpoint for scale tests and benches: refresh tokens rotate on every use, a used one is
 * refused with invalid_grant (and counted as a reuse), and every refresh is counted (and its first time kept) per
 * link. It speaks only the refresh_token grant; links are minted directly (`mint()`), as if each had been
 * authorized once.
 */
export async function startCountingUpstream(options: { accessTokenTtl?: number } = {}) {
  const clientId = 'counting-client';
  const clientSecret = randomBytes(16).toString('base64url');
  /** live refresh token → link id */
  const live = new Map<string, string>();
  /** link id → its current refresh token */
  const current = new Map<string, string>();
  const refreshes = new Map<string, number>();
  /** link id → when it was first refreshed (ms) */
  const firstRefresh = new Map<string, number>();
  let reused = 0;
  let total = 0;
  let firstAt: number | undefined;
  let lastAt: number | undefined;

  const newToken = () => randomBytes(24).toString('base64url');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/token') return json(404, { error: 'not_found' });
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      // RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const [user, pass] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' '))) : [];
      const authenticated = (user === clientId && pass === clientSecret) || (form.get('client_id') === clientId && form.get('client_secret') === clientSecret);
      if (!authenticated) return json(401, { error: 'invalid_client' });
      if (form.get('grant_type') !== 'refresh_token') return json(400, { error: 'unsupported_grant_type' });
      total += 1;
      const now = Date.now();
      firstAt ??= now;
      lastAt = now;
      const presented = form.get('refresh_token') ?? '';
      const link = live.get(presented);
      if (!link) {
        reused += 1;
        return json(400, { error: 'invalid_grant', error_description: 'refresh token unknown or already used' });
      }
      live.delete(presented);
      const next = newToken();
      live.set(next, link);
      current.set(link, next);
      refreshes.set(link, (refreshes.get(link) ?? 0) + 1);
      if (!firstRefresh.has(link)) firstRefresh.set(link, now);
      json(200, { access_token: newToken(), token_type: 'Bearer', expires_in: options.accessTokenTtl ?? 3600, refresh_token: next });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    url,
    clientId,
    clientSecret,
    /** A new link: its first access and refresh token. */
    mint(link: string) {
      const refreshToken = newToken();
      live.set(refreshToken, link);
      current.set(link, refreshToken);
      return { accessToken: newToken(), refreshToken };
    },
    refreshesOf: (link: string) => refreshes.get(link) ?? 0,
    /** When the link was first refreshed (ms since the epoch), if it was. */
    firstRefreshAt: (link: string) => firstRefresh.get(link),
    /** How many links were refreshed at least once. */
    get linksRefreshed() {
      return firstRefresh.size;
    },
    /** The first and the last refresh call (ms since the epoch), reuses included. */
    get span() {
      return { firstAt, lastAt };
    },
    currentRefreshToken: (link: string) => current.get(link),
    get reused() {
      return reused;
    },
    get total() {
      return total;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type CountingUpstream = Awaited<ReturnType<typeof startCountingUpstream>>;

export const COUNTING_PROVIDER = 'counter';

/** A PROVIDERS_FILE naming the upstream `counter` (explicit endpoints, no discovery, no identity) in a fresh temp dir. */
export function writeProvidersFile(upstream: Pick<CountingUpstream, 'url' | 'clientId' | 'clientSecret'>): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'providers-')), 'providers.yaml');
  writeFileSync(
    file,
    `${COUNTING_PROVIDER}:\n  authorization_url: ${upstream.url}/auth\n  token_url: ${upstream.url}/token\n  client_id: ${upstream.clientId}\n  client_secret: ${upstream.clientSecret}\n  pkce: false\n`,
  );
  return file;
}
