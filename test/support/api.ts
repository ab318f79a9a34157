import type { TestServer } from './server.js';
import { postForm } from './flow.js';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A confidential client_credentials client with scope `admin`, registered straight in the store. */
export async function registerAdminClient(server: TestServer) {
  return server.context.clients.register({
    client_name: 'Test admin',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'admin',
  });
}

export async function clientCredentialsToken(server: TestServer, client: { client_id: string; client_secret?: string }, scope: string): Promise<string> {
  const response = await postForm(server, '/token', { grant_type: 'client_credentials', scope }, client);
  if (response.status !== 200) throw new Error(`client_credentials failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.access_token as string;
}

/** An admin access token obtained the way a real admin does: client_credentials with scope admin. */
export async function adminToken(server: TestServer): Promise<string> {
  return clientCredentialsToken(server, await registerAdminClient(server), 'admin');
}

/** JSON over HTTP against the running server, with an optional bearer token. */
export function api(server: TestServer, token?: string) {
  const call = async <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text so a failing assertion shows it
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
  return {
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => call<T>('POST', path, body ?? {}, headers),
    patch: <T = any>(path: string, body: unknown) => call<T>('PATCH', path, body),
    put: <T = any>(path: string, body: unknown) => call<T>('PUT', path, body),
    delete: <T = any>(path: string) => call<T>('DELETE', path),
  };
}

/** A confidential client standing in for a resource server: it may introspect any token (RFC 7662). */
export async function registerIntrospector(server: TestServer) {
  return server.context.clients.register({ client_name: 'Resource server', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'openid' });
}
