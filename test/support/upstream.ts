import http from 'node:http';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import { driveLogin, handleInteraction, INTERACTION_PREFIX, readBody, type UpstreamAccount } from './upstream-login.js';

/**
 * A local stand-in for an upstream OAuth / OpenID provider (Google, Microsoft, Notion) that the OAuth consumer
 * links accounts with: a second, separate oidc-provider instance (default in-memory adapter, its own keys and
 * cookie keys) on a loopback port, one confidential client, a programmable login/consent and a few quirks of the
 * real providers in a thin layer in front of it (JSON token requests, a Graph-like `/v1.0/me`).
 */

export interface UpstreamOptions {
  /** access token lifetime in seconds (default 3600) */
  accessTokenTtl?: number;
  /**
   * Rotate refresh tokens on every refresh (default true). oidc-provider then treats a second use of a rotated
   * refresh token as replay: it answers invalid_grant AND revokes the whole grant (the newer refresh token and the
   * access tokens too), like OAuth 2.1 reuse detection.
   */
  rotateRefreshTokens?: boolean;
  /** the user that the login page signs in (default { sub: 'upstream-user-1', email: 'alice@upstream.test' }) */
  account?: UpstreamAccount;
  /** Initial redirect URIs of the client (default: a placeholder; set the real one with setRedirectUris). */
  redirectUris?: string[];
  /** Scopes granted in addition to DEFAULT_UPSTREAM_SCOPES. */
  scopes?: string[];
}

export interface Upstream {
  /** http://127.0.0.1:<port> — also the base of every endpoint (discovery at /.well-known/openid-configuration). */
  issuer: string;
  /** One confidential client (`client_secret_basic` registered; `client_secret_post` is accepted too). */
  clientId: string;
  clientSecret: string;
  /** Replaces the client's exact redirect URIs (the consumer's callback is known only after it starts). */
  setRedirectUris(uris: string[]): void;
  /**
   * Follows an authorization URL like a user would (GET authorize → login → consent, keeping cookies, a fresh
   * browser each call) and returns the final redirect to the client's callback (not fetched): `code`, `state`,
   * `iss`, or `error=access_denied` with `deny`. `account` signs in someone else than the configured account.
   * Throws with the upstream's answer if the flow does not end in such a redirect.
   */
  completeLogin(authorizationUrl: string, options?: { deny?: boolean; account?: UpstreamAccount }): Promise<URL>;
  /** RFC 7662 introspection at the upstream, authenticated as the client. */
  introspect(token: string): Promise<{ active: boolean; [k: string]: unknown }>;
  /**
   * Requests the upstream saw, failed ones included. `token` = token endpoint requests other than
   * grant_type=refresh_token (code exchanges); `refresh` = refresh_token grants (also those refused by
   * failRefreshes); `authorize` = authorization requests (not the internal resume redirects); `revocation`;
   * `graphMe` = calls to GET /v1.0/me.
   */
  counts: { token: number; refresh: number; revocation: number; authorize: number; graphMe: number };
  /** Content-type and client authentication of the last token-endpoint request, as received. */
  lastTokenRequest?: { contentType: string; authorization: 'basic' | 'body' | 'none' };
  /** Make every refresh_token grant fail with invalid_grant (true) or behave (false). */
  failRefreshes(value: boolean): void;
  /**
   * Revokes every grant with its tokens (refresh, access, unused codes), like a user removing the app at Google;
   * with `sub`, only that account's.
   */
  revokeAll(sub?: string): Promise<void>;
  close(): Promise<void>;
}

/** Scopes the upstream knows (and so grants when asked): OIDC ones plus the consumer's Google / Microsoft ones. */
export const DEFAULT_UPSTREAM_SCOPES = [
  'openid',
  'email',
  'profile',
  'offline_access',
  'https://mail.google.com/',
  'https://www.googleapis.com/auth/calendar',
  'https://www.googleapis.com/auth/youtube.readonly',
  'https://outlook.office.com/IMAP.AccessAsUser.All',
  'https://outlook.office.com/SMTP.Send',
  'https://graph.microsoft.com/Calendars.ReadWrite',
  'https://graph.microsoft.com/User.Read',
];

const DEFAULT_ACCOUNT: UpstreamAccount = { sub: 'upstream-user-1', email: 'alice@upstream.test', name: 'Alice Upstream' };
const DAY = 24 * 60 * 60;
/** Stands in until setRedirectUris: oidc-provider refuses a code-flow client without redirect URIs. */
const PLACEHOLDER_REDIRECT_URI = 'http://127.0.0.1/redirect-uri-not-set';

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('cache-control', 'no-store');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(JSON.stringify(body));
}

/** A JSON token request (Notion's style) as the form body the provider expects; undefined if not a JSON object. */
function jsonToForm(raw: Buffer): URLSearchParams | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      form.append(key, typeof item === 'object' ? JSON.stringify(item) : String(item));
    }
  }
  return form;
}

export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const account = options.account ?? DEFAULT_ACCOUNT;
  const rotate = options.rotateRefreshTokens ?? true;
  const accounts = new Map<string, UpstreamAccount>([[account.sub, account]]);
  const clientId = `upstream-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const grantIds = new Set<string>();
  const counts = { token: 0, refresh: 0, revocation: 0, authorize: 0, graphMe: 0 };
  let refreshesFail = false;

  // The issuer contains the port, so listen first and build the provider after.
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'upstream-rs256', alg: 'RS256', use: 'sig' };

  const configuration: Configuration = {
    // No `clients` here: the client lives in the adapter (see below) so setRedirectUris can change it.
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Without resource indicators every granted scope is an "OIDC scope", and oidc-provider only grants scopes listed
    // here (others in a request are silently dropped), so the consumer's provider scopes must be in this list.
    scopes: [...new Set([...DEFAULT_UPSTREAM_SCOPES, ...(options.scopes ?? [])])],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      const found = accounts.get(sub);
      if (!found) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: found.email, email_verified: true, ...(found.name ? { name: found.name } : {}) }),
      };
    },
    features: {
      devInteractions: { enabled: false }, // our own /interaction/<uid> routes (upstream-login.ts)
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      // Off: no `resource` → opaque access tokens the provider itself can introspect and look up (Graph /v1.0/me).
      resourceIndicators: { enabled: false },
    },
    // PKCE (S256 only in oidc-provider 9) is checked whenever a code_challenge was sent; `required` only decides
    // whether a request WITHOUT one is refused. Optional here so the consumer may or may not send it.
    pkce: { required: () => false },
    // By default a refresh token needs the offline_access scope, which oidc-provider also drops from requests without
    // prompt=consent. Google/Microsoft issue one regardless (access_type=offline), so: always, for our client.
    issueRefreshToken: async (_ctx, client) => client.clientId === clientId && client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => rotate,
    // Tokens outlive the upstream browser session (each completeLogin is a fresh browser).
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: options.accessTokenTtl ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * DAY,
      Grant: 14 * DAY,
      Session: 14 * DAY,
      Interaction: 600,
    },
    // Errors that cannot go back to the client (unknown client, bad redirect_uri) as JSON rather than an HTML page.
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
    clientBasedCORS: () => false,
    // Default 15 s, which the provider's own bearer checks (userinfo) add to token expiry; 0 makes accessTokenTtl exact.
    clockTolerance: 0,
  };

  const provider = new Provider(issuer, configuration);
  provider.on('grant.saved', (grant) => grantIds.add(grant.jti));
  provider.on('server_error', (_ctx, error) => console.error('upstream server_error', error));

  // A client in the adapter, not in `clients`: statically configured clients are cached for the provider's lifetime,
  // adapter-stored ones are re-read on each lookup (cached by content hash), so rewriting the record updates them.
  const clientMetadata: AdapterPayload & { redirect_uris: string[] } = {
    client_id: clientId,
    client_secret: clientSecret,
    client_name: 'oauth-hub consumer',
    redirect_uris: options.redirectUris?.length ? options.redirectUris : [PLACEHOLDER_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
  // No expiry: the client stays for the provider's lifetime.
  // (`Client.adapter` exists at runtime like every model's, @types/oidc-provider just does not declare it.)
  const clientAdapter = (provider.Client as unknown as { adapter: Adapter }).adapter;
  const saveClient = () => clientAdapter.upsert(clientId, { ...clientMetadata });
  await saveClient();

  const path = (route: 'authorization' | 'token' | 'revocation') => new URL(provider.urlFor(route)).pathname;
  const routes = { authorization: path('authorization'), token: path('token'), revocation: path('revocation') };
  const providerCallback = provider.callback();

  const upstream: Upstream = {
    issuer,
    clientId,
    clientSecret,
    counts,
    lastTokenRequest: undefined,
    setRedirectUris(uris) {
      for (const uri of uris) new URL(uri); // throws on a malformed URI here rather than at the next request
      clientMetadata.redirect_uris = uris.length ? [...uris] : [PLACEHOLDER_REDIRECT_URI];
      // The in-memory adapter's upsert completes synchronously, so the next request already sees the new URIs.
      void saveClient();
    },
    completeLogin(authorizationUrl, loginOptions = {}) {
      const who = loginOptions.account ?? account;
      if (!accounts.has(who.sub)) accounts.set(who.sub, who);
      return driveLogin(issuer, authorizationUrl, { deny: loginOptions.deny, account: who });
    },
    async introspect(token) {
      const response = await fetch(provider.urlFor('introspection'), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }),
      });
      if (!response.ok) throw new Error(`upstream introspection answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as { active: boolean; [k: string]: unknown };
    },
    failRefreshes(value) {
      refreshesFail = value;
    },
    async revokeAll(sub) {
      for (const grantId of grantIds) {
        const grant = await provider.Grant.find(grantId);
        if (sub !== undefined && grant && grant.accountId !== sub) continue;
        // What oidc-provider itself does when a grant is revoked: drop every token issued under it, then the grant.
        await Promise.all([
          provider.AccessToken.revokeByGrantId(grantId),
          provider.RefreshToken.revokeByGrantId(grantId),
          provider.AuthorizationCode.revokeByGrantId(grantId),
          provider.Grant.adapter.destroy(grantId),
        ]);
        grantIds.delete(grantId);
      }
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };

  /** The token endpoint's front: counting, JSON bodies, failRefreshes; then the provider reads the (re)written body. */
  async function tokenRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    const json = /^application\/json\b/i.test(contentType);
    const form = json ? jsonToForm(raw) : new URLSearchParams(raw.toString('utf8'));
    if (!form) {
      sendJson(res, 400, { error: 'invalid_request', error_description: 'the JSON request body could not be parsed' });
      return true;
    }
    const refresh = form.get('grant_type') === 'refresh_token';
    if (refresh) counts.refresh += 1;
    else counts.token += 1;
    upstream.lastTokenRequest = {
      contentType,
      authorization: /^basic /i.test(req.headers.authorization ?? '') ? 'basic' : form.has('client_secret') ? 'body' : 'none',
    };
    if (refresh && refreshesFail) {
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
      return true;
    }
    // The stream is consumed: oidc-provider then uses a pre-read `req.body` (it logs a one-time warning about it).
    const body = json ? form.toString() : raw.toString('utf8');
    if (json) req.headers['content-type'] = 'application/x-www-form-urlencoded';
    req.headers['content-length'] = String(Buffer.byteLength(body));
    delete req.headers['transfer-encoding'];
    (req as http.IncomingMessage & { body?: string }).body = body;
    return false;
  }

  /** GET /v1.0/me as Microsoft Graph answers it, for a valid (unexpired, unrevoked) upstream access token. */
  async function graphMe(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    counts.graphMe += 1;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // The checks introspection makes: known, unexpired, its grant still there (revokeAll / revocation remove it).
    const token = bearer ? await provider.AccessToken.find(bearer) : undefined;
    const grant = token?.isValid && token.grantId ? await provider.Grant.find(token.grantId) : undefined;
    const who = token && grant && grant.accountId === token.accountId ? accounts.get(token.accountId) : undefined;
    if (!who) {
      sendJson(
        res,
        401,
        { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty, invalid or expired.' } },
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
      return;
    }
    sendJson(res, 200, { id: who.sub, mail: who.email, userPrincipalName: who.email, displayName: who.name ?? null });
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const handle = async () => {
      const { pathname } = new URL(req.url ?? '/', issuer);
      if (pathname === routes.authorization) counts.authorize += 1;
      if (pathname === routes.revocation) counts.revocation += 1;
      if (pathname === routes.token && req.method === 'POST' && (await tokenRequest(req, res))) return;
      if (pathname === '/v1.0/me' && req.method === 'GET') return graphMe(req, res);
      if (pathname.startsWith(INTERACTION_PREFIX)) return handleInteraction(provider, accounts, account, req, res, pathname);
      return providerCallback(req, res);
    };
    handle().catch((error: unknown) => {
      console.error('upstream fixture error', error);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(error) });
      else res.destroy();
    });
  });

  return upstream;
}
