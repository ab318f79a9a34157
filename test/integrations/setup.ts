import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '../support/server.js';
import { startUpstream, type Upstream, type UpstreamOptions } from '../support/upstream.js';
import { api, clientCredentialsToken } from '../support/api.js';
import { authorize, PASSWORD, registerClient } from '../support/flow.js';
import { randomBytes } from 'node:crypto';

/** Providers that the tests point at the local upstream (through PROVIDERS_FILE, as a deployment would). */
export const LOCAL_PROVIDERS = ['google', 'gmail', 'microsoft', 'microsoft-calendar', 'notion'] as const;

export interface ConsumerWorld {
  server: TestServer;
  upstream: Upstream;
  /** Moves the consumer server's clock (token expiry, state expiry); the upstream keeps real time. */
  advanceClock(seconds: number): void;
  close(): Promise<void>;
}

/**
 * A consumer server whose "google", "gmail", "microsoft", "microsoft-calendar" and "notion" are one local
 * oidc-provider (the upstream), configured through a real PROVIDERS_FILE.
 */
export async function startConsumerWorld(
  options: { upstream?: UpstreamOptions; config?: Parameters<typeof startTestServer>[0]; withAmazonLwa?: boolean } = {},
): Promise<ConsumerWorld> {
  const upstream = await startUpstream(options.upstream);
  const { issuer, clientId, clientSecret } = upstream;
  const credentials = `    client_id: ${clientId}\n    client_secret: ${clientSecret}\n`;
  const yaml = [
    `google:\n    issuer: ${issuer}\n    revocation_url: ${issuer}/token/revocation\n${credentials}`,
    `microsoft:\n    issuer: ${issuer}\n${credentials}`,
    `microsoft-calendar:\n    userinfo_url: ${issuer}/v1.0/me\n`,
    // Notion has no discovery: explicit endpoints, Basic auth and a JSON body (its quirks come from the built-in
    // entry). Notion takes no scope; the local upstream (oidc-provider) answers access_denied to a request
    // without one, so the test entry asks for `openid`.
    `notion:\n    authorization_url: ${issuer}/auth\n    token_url: ${issuer}/token\n    revocation_url: ${issuer}/token/revocation\n    scopes: [openid]\n${credentials}`,
    // Login with Amazon (for Alexa's AcceptGrant), only when asked: elsewhere it is the unconfigured example.
    // Explicit endpoints and credentials in the body, as LWA takes them; the upstream's userinfo is /me.
    ...(options.withAmazonLwa
      ? [`amazon-lwa:\n    authorization_url: ${issuer}/auth\n    token_url: ${issuer}/token\n    userinfo_url: ${issuer}/me\n    identity: { source: userinfo, subject: [sub], email: [email] }\n${credentials}`]
      : []),
  ].join('\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'providers-'));
  const providersFile = path.join(dir, 'providers.yaml');
  writeFileSync(providersFile, yaml);

  let offset = 0;
  const server = await startTestServer({
    ...options.config,
    clock: () => Date.now() + offset,
    config: { providersFile, ...options.config?.config },
  });
  upstream.setRedirectUris(LOCAL_PROVIDERS.map((name) => `${server.url}/integrations/${name}/callback`));
  return {
    server,
    upstream,
    advanceClock: (seconds) => {
      offset += seconds * 1000;
    },
    async close() {
      await server.destroy();
      await upstream.close();
    },
  };
}

/** A user of `workspace` with a token carrying `integrations:token` (through the real login and consent pages). */
export async function integrationUser(server: TestServer, workspace = 'default') {
  await server.context.queries.workspaces.ensure(workspace, workspace);
  const email = `user-${randomBytes(4).toString('hex')}@example.com`;
  const created = await server.context.accounts.create({ email, password: PASSWORD, name: 'Integrations user', workspaceId: workspace, emailVerified: true });
  const user = { id: created.id, email };
  const app = await registerClient(server, { client_name: 'Platform app', scope: 'openid email integrations:token' });
  const { tokens } = await authorize(server, app, user, 'openid email integrations:token');
  return { user, token: tokens.access_token, call: api(server, tokens.access_token) };
}

/** A service of the workspace: client_credentials with `integrations:token` (actor `api_key:<client_id>`). */
export async function integrationService(server: TestServer) {
  const client = await server.context.clients.register({
    client_name: 'Platform service',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'integrations:token',
  });
  const token = await clientCredentialsToken(server, client, 'integrations:token');
  return { client, token, call: api(server, token) };
}

/** authorize → upstream login and consent → our callback (fetched without following redirects). */
export async function connect(world: ConsumerWorld, call: ReturnType<typeof api>, provider: string, body: Record<string, unknown> = {}) {
  const started = await call.post(`/integrations/${provider}/authorize`, body);
  if (started.status !== 200) throw new Error(`authorize failed: ${started.status} ${JSON.stringify(started.body)}`);
  const callback = await world.upstream.completeLogin(started.body.authorization_url);
  const response = await fetch(callback, { redirect: 'manual', headers: { accept: 'application/json' } });
  const text = await response.text();
  return { authorizationUrl: new URL(started.body.authorization_url), callback, status: response.status, headers: response.headers, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

/** A mailbox setting as a platform would PUT it (password auth, Microsoft 365 hosts). */
export const mailboxSettings = (overrides: Record<string, unknown> = {}) => ({
  auth_method: 'password',
  email: 'bookings@hotel.example',
  username: 'bookings@hotel.example',
  password: 'app-secret-1',
  imap: { host: 'outlook.office365.com', port: 993, security: 'tls' },
  smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
  use_idle: true,
  ...overrides,
});
