import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { AuditLog } from '../audit/writer.js';
import type { AuditOrigin } from '../audit/origin.js';
import type { KeyRing } from '../crypto/keyring.js';
import { generateSecret } from '../crypto/secrets.js';
import { changedFields } from '../audit/changed-fields.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { GrantService } from '../grants/service.js';
import type { ClientQueries, ClientRow } from '../queries/clients.js';
import type { WorkspaceQueries } from '../queries/workspaces.js';
import { DEFAULT_CLIENT_SCOPE } from '../oidc/client-metadata.js';
import { checkRedirectUris } from './redirect-uris.js';
import { applyVoiceProfile, voiceProfileProblem } from './voice-profiles.js';
import { needsSecretAsKey, toClientRow } from './store.js';

/** What the admin API shows of a client: its metadata, never the secret or its hash. */
export interface ClientView extends Record<string, unknown> {
  client_id: string;
  workspace_id: string;
  created_at: string;
  updated_at: string;
}

export function toClientView(row: ClientRow): ClientView {
  return {
    ...row.metadata,
    client_id: row.client_id,
    workspace_id: row.workspace_id,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** Defaults the provider applies too (clientDefaults), made explicit so what an admin reads is what runs. */
const DEFAULTS = {
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: DEFAULT_CLIENT_SCOPE,
};

/**
 * `response_types` when the body has none: `code` only for a client that redeems codes. RFC 7591 §2 defaults it to
 * `code` whatever the grant types, which makes a client_credentials-only client also need redirect URIs it will
 * never use; an admin registering a machine client should not have to send `"response_types": []`.
 */
function defaultResponseTypes(input: Record<string, unknown>): string[] {
  const grantTypes = Array.isArray(input.grant_types) ? input.grant_types : DEFAULTS.grant_types;
  return grantTypes.includes('authorization_code') ? [...DEFAULTS.response_types] : [];
}

type ClientStatics = { validate(metadata: Record<string, unknown>): Promise<void>; needsSecret(metadata: Record<string, unknown>): boolean };

export interface ClientAdminDependencies {
  provider: Provider;
  clients: ClientQueries;
  workspaces: WorkspaceQueries;
  grants: GrantService;
  audit: AuditLog;
  keyring: KeyRing;
  /** Disconnects the linked external accounts a deleted client held as `api_key:<client_id>`. */
  linkedAccounts?: { disconnectAllOfActor(actorType: 'api_key', actorId: string, origin: AuditOrigin): Promise<number> };
}

/**
 * Client registration and management for the admin API. Metadata goes through oidc-provider's own validation
 * (the rules it enforces when it loads the client) and then ours (redirect URIs, the `admin` scope).
 */
export function clientAdminService({ provider, clients, workspaces, grants, audit, keyring, linkedAccounts }: ClientAdminDependencies) {
  const statics = provider.Client as unknown as ClientStatics;

  const validate = async (metadata: Record<string, unknown>) => {
    // First, so that a voice client hears what its platform needs rather than a generic metadata error.
    const voiceProblem = voiceProfileProblem(metadata);
    if (voiceProblem) throw badRequest(voiceProblem, 'invalid_client_metadata');
    try {
      await statics.validate(metadata);
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) throw badRequest(error.error_description ?? error.message, error.error);
      throw error;
    }
    const problem = checkRedirectUris(metadata);
    if (problem) throw badRequest(problem, 'invalid_redirect_uri');
    const scopes = String(metadata.scope ?? '').split(' ');
    const grantTypes = metadata.grant_types as string[];
    // RFC 6749 §4.4: client_credentials is for confidential clients only (a public one would hand out its
    // tokens, `admin` included, to anyone who knows its client_id).
    if (grantTypes.includes('client_credentials') && metadata.token_endpoint_auth_method === 'none') {
      throw badRequest('client_credentials needs a confidential client (token_endpoint_auth_method other than none)', 'invalid_client_metadata');
    }
    // RFC 7591 §2.1: response type `code` is used with the authorization_code grant. The provider fills the grant in
    // on its own copy, so without this check a PATCH could store a client that says one thing and runs another.
    const responseTypes = (metadata.response_types as string[] | undefined) ?? [];
    if (responseTypes.some((type) => type.split(' ').includes('code')) && !grantTypes.includes('authorization_code')) {
      throw badRequest('response_types with code needs the authorization_code grant type (send "response_types": [] with grant types that have no authorization endpoint)', 'invalid_client_metadata');
    }
    if (scopes.includes('admin') && grantTypes.some((type) => type !== 'client_credentials')) {
      throw badRequest('the admin scope is only for clients whose only grant type is client_credentials', 'invalid_client_metadata');
    }
    const workspaceId = String(metadata.workspace_id);
    if (!(await workspaces.find(workspaceId))) throw badRequest(`workspace ${workspaceId} does not exist`, 'invalid_client_metadata');
  };

  const load = async (clientId: string) => {
    const row = await clients.find(clientId);
    if (!row) throw notFound(`no client ${clientId}`);
    return row;
  };

  const event = (origin: AuditOrigin, row: { client_id: string; workspace_id: string }) => ({ ...origin, clientId: row.client_id, workspaceId: row.workspace_id });

  return {
    async create(input: Record<string, unknown>, origin: AuditOrigin): Promise<ClientView & { client_secret?: string }> {
      const clientId = typeof input.client_id === 'string' ? input.client_id : generateSecret(128);
      const metadata: Record<string, unknown> = {
        ...DEFAULTS,
        response_types: defaultResponseTypes(input),
        workspace_id: 'default',
        ...applyVoiceProfile(input),
        client_id: clientId,
      };
      const secret = statics.needsSecret(metadata) ? generateSecret(256) : undefined;
      await validate({ ...metadata, ...(secret ? { client_secret: secret } : {}) });
      const row = await clients.insertUnlessTaken(toClientRow({ ...metadata, client_secret: secret }, keyring));
      if (!row) throw conflict(`client_id ${clientId} is taken`, 'client_id_taken');
      await audit.record({ ...event(origin, row), type: 'OAuthClientCreate', details: { client_name: metadata.client_name, grant_types: metadata.grant_types } });
      return { ...toClientView(row), ...(secret ? { client_secret: secret } : {}) };
    },

    async list(filter: { workspaceId?: string; afterId?: string }, limit: number): Promise<ClientView[]> {
      return (await clients.list(filter, limit)).map(toClientView);
    },

    async read(clientId: string): Promise<ClientView> {
      return toClientView(await load(clientId));
    },

    /**
     * Merges `changes` over the stored metadata (`null` removes a key) and validates the result. When the
     * change makes the client need a secret it has not got (or need it as a key while only its hash is kept),
     * a new secret is issued and returned once.
     */
    async update(clientId: string, changes: Record<string, unknown>, origin: AuditOrigin): Promise<ClientView & { client_secret?: string }> {
      const current = await load(clientId);
      const before: Record<string, unknown> = { ...current.metadata, workspace_id: current.workspace_id };
      const metadata: Record<string, unknown> = { ...before };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete metadata[key];
        else metadata[key] = value;
      }
      metadata.client_id = clientId;
      const needsSecret = statics.needsSecret(metadata);
      const hasUsableSecret = needsSecretAsKey(metadata) ? Boolean(current.secret_encrypted) : Boolean(current.secret_hash || current.secret_encrypted);
      const newSecret = needsSecret && !hasUsableSecret ? generateSecret(256) : undefined;
      await validate({ ...metadata, ...(needsSecret ? { client_secret: newSecret ?? 'validation-placeholder' } : {}) });
      const next = toClientRow({ ...metadata, client_secret: newSecret }, keyring);
      const secrets = {
        secret_hash: needsSecret ? (newSecret ? next.secret_hash : current.secret_hash) : null,
        secret_encrypted: needsSecret ? (newSecret ? next.secret_encrypted : current.secret_encrypted) : null,
      };
      const changed = changedFields(Object.keys(changes), before, metadata);
      // Nothing to write (a GET body sent back as it was): the row, `updated_at` included, stays as it is.
      const unchanged = changed.length === 0 && secrets.secret_hash === current.secret_hash && secrets.secret_encrypted === current.secret_encrypted;
      const row = unchanged ? current : await clients.update({ ...next, ...secrets });
      if (!row) throw notFound(`no client ${clientId}`);
      // Every PATCH leaves its event; `changed` names the fields whose value is another now (none for a no-op).
      await audit.record({ ...event(origin, row), type: 'OAuthClientUpdate', details: { changed, secret_issued: Boolean(newSecret) } });
      return { ...toClientView(row), ...(newSecret ? { client_secret: newSecret } : {}) };
    },

    async rotateSecret(clientId: string, origin: AuditOrigin): Promise<{ client_secret: string }> {
      const current = await load(clientId);
      const metadata = { ...current.metadata, client_id: clientId, workspace_id: current.workspace_id };
      if (!statics.needsSecret(metadata)) throw badRequest(`client ${clientId} authenticates without a secret`, 'invalid_request');
      const secret = generateSecret(256);
      const next = toClientRow({ ...metadata, client_secret: secret }, keyring);
      await clients.update(next);
      await audit.record({ ...event(origin, current), type: 'OAuthClientSecretRotate' });
      return { client_secret: secret };
    },

    /** Deletes the client, then revokes every grant (and so every token) it had. */
    async remove(clientId: string, origin: AuditOrigin): Promise<void> {
      const current = await load(clientId);
      // Row first: a flow finishing meanwhile then fails to find its client instead of leaving a live grant.
      if (!(await clients.delete(clientId))) throw notFound(`no client ${clientId}`);
      const revoked = await grants.revokeAllOfClient(clientId, origin);
      const disconnected = (await linkedAccounts?.disconnectAllOfActor('api_key', clientId, origin)) ?? 0;
      await audit.record({ ...event(origin, current), type: 'OAuthClientRevoke', details: { grants_revoked: revoked, integrations_disconnected: disconnected } });
    },
  };
}

export type ClientAdminService = ReturnType<typeof clientAdminService>;

