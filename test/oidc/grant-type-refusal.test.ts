import { startTestServer, type TestServer } from '../support/server.js';
import { adminToken, api, registerAdminClient } from '../support/api.js';
import { postForm, registerClient } from '../support/flow.js';

/**
 * RFC 6749 §5.2: "unauthorized_client — the authenticated client is not authorized to use this authorization
 * grant type". Only an authenticated client learns it; the other token endpoint errors keep their codes.
 */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.destroy());

test('an authorization_code client asking for client_credentials is unauthorized_client', async () => {
  const client = await registerClient(server); // authorization_code + refresh_token
  const response = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'openid' }, client);
  expect(response.status).toBe(400);
  expect(response.body).toEqual({ error: 'unauthorized_client', error_description: 'requested grant type is not allowed for this client' });
});

test('the audit records the refusal as unauthorized_client, the error the client got', async () => {
  const client = await registerClient(server);
  const response = await postForm(server, '/token', { grant_type: 'client_credentials', scope: 'openid' }, client);
  expect(response.body.error).toBe('unauthorized_client');
  await server.context.audit.flush();
  const audit = await api(server, await adminToken(server)).get(`/admin/audit?type=OAuthTokenIssue&client_id=${client.client_id}`);
  expect(audit.status).toBe(200);
  expect(audit.body.items.map((e: { outcome: string; details: Record<string, unknown> }) => ({ outcome: e.outcome, ...e.details }))).toEqual([
    { outcome: 'failure', grant_type: 'client_credentials', error: 'unauthorized_client', error_description: response.body.error_description },
  ]);
});

test('a client_credentials client asking for refresh_token or token exchange is unauthorized_client', async () => {
  const client = await registerAdminClient(server);
  const forms: Array<Record<string, string>> = [
    { grant_type: 'refresh_token', refresh_token: 'not-a-token' },
    { grant_type: TOKEN_EXCHANGE, subject_token: 'x', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
  ];
  for (const form of forms) {
    const response = await postForm(server, '/token', form, client);
    expect({ grant: form.grant_type, status: response.status, error: response.body.error }).toEqual({ grant: form.grant_type, status: 400, error: 'unauthorized_client' });
  }
});

test('without valid client authentication it stays invalid_client; an unknown grant type stays unsupported_grant_type', async () => {
  const client = await registerClient(server);
  const wrongSecret = await postForm(server, '/token', { grant_type: 'client_credentials' }, { ...client, client_secret: 'wrong' });
  expect({ status: wrongSecret.status, error: wrongSecret.body.error }).toEqual({ status: 401, error: 'invalid_client' });
  const unknown = await postForm(server, '/token', { grant_type: 'password', username: 'a', password: 'b' }, client);
  expect({ status: unknown.status, error: unknown.body.error }).toEqual({ status: 400, error: 'unsupported_grant_type' });
});

test('other invalid_request answers of an allowed grant are unchanged', async () => {
  const client = await registerClient(server);
  const response = await postForm(server, '/token', { grant_type: 'authorization_code', redirect_uri: 'https://rp.example.com/callback' }, client);
  expect(response.status).toBe(400);
  expect(response.body.error).toBe('invalid_request'); // missing code
});
