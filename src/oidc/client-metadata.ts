import { errors, type Configuration, type Provider } from 'oidc-provider';
import { constantTimeEqual, sha256 } from '../crypto/secrets.js';
import { ALEXA_VENDOR_ID, GOOGLE_PROJECT_ID, isVoiceProfile } from '../clients/voice-profiles.js';

/** Scopes a client may ask for when its metadata names none (CONTRACT.md, Scopes). */
export const DEFAULT_CLIENT_SCOPE = 'openid profile email offline_access';

/** A stored client secret that is a hash, not the secret: `client_secret` as the provider sees it. */
export const HASHED_SECRET_PREFIX = 'sha256$';

/**
 * Our client metadata beyond RFC 7591, validated wherever the provider validates metadata.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#extraclientmetadata
 */
export const extraClientMetadata: Configuration['extraClientMetadata'] = {
  properties: ['workspace_id', 'require_pkce', 'first_party', 'profile', 'alexa_vendor_id', 'google_project_id', 'role_map', 'token_exchange_audiences'],
  validator(_ctx, key, value, metadata) {
    // role_map: our role → the name this client uses for it (e.g. {"admin": "owner"}).
    if (key === 'role_map' && value !== undefined) {
      const valid = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((role) => typeof role === 'string' && role.length > 0);
      if (!valid) throw new errors.InvalidClientMetadata('role_map must map role names to role names');
    }
    // token_exchange_audiences: resource server identifiers this (confidential) client may exchange tokens for.
    if (key === 'token_exchange_audiences' && value !== undefined) {
      if (!Array.isArray(value) || !value.every((audience) => typeof audience === 'string' && audience.length > 0)) {
        throw new errors.InvalidClientMetadata('token_exchange_audiences must be a list of resource server identifiers');
      }
      if (value.length && metadata.token_endpoint_auth_method === 'none') throw new errors.InvalidClientMetadata('token exchange needs a confidential client');
    }
    if (key === 'profile' && value !== undefined) {
      if (!isVoiceProfile(value)) throw new errors.InvalidClientMetadata('profile must be "alexa" or "google"');
      if (value === 'alexa' && !ALEXA_VENDOR_ID.test(String(metadata.alexa_vendor_id ?? ''))) {
        throw new errors.InvalidClientMetadata('the alexa profile needs alexa_vendor_id (upper-case letters and digits, from the Alexa developer console)');
      }
      if (value === 'google' && !GOOGLE_PROJECT_ID.test(String(metadata.google_project_id ?? ''))) {
        throw new errors.InvalidClientMetadata('the google profile needs google_project_id (the Google Cloud project id of the Action)');
      }
    }
    if (key === 'require_pkce' && value !== undefined) {
      if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata('require_pkce must be a boolean');
      if (value === false && metadata.token_endpoint_auth_method === 'none') {
        throw new errors.InvalidClientMetadata('require_pkce may be false only for a confidential client');
      }
    }
    if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
      throw new errors.InvalidClientMetadata('first_party must be a boolean');
    }
    if (key === 'workspace_id' && value !== undefined && (typeof value !== 'string' || !value)) {
      throw new errors.InvalidClientMetadata('workspace_id must be a non-empty string');
    }
  },
};

/** Our own apps (`first_party: true`): no consent page, tokens bound to the single sign-on session. */
export const isFirstParty = (client: unknown): boolean => (client as { first_party?: unknown } | undefined)?.first_party === true;

/** PKCE (S256) for every client unless an admin turned it off for one confidential client. */
export const pkce: Configuration['pkce'] = {
  required: (_ctx, client) => (client as unknown as { require_pkce?: boolean }).require_pkce !== false,
};

/**
 * Client secrets are stored hashed; the provider compares through this hook (oidc-provider issue #631).
 * Clients that need the secret as a key (HS256, client_secret_jwt) carry the real secret, decrypted.
 */
export function installClientSecretHashing(provider: Provider): void {
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(actual: string) {
    const stored = this.clientSecret;
    if (typeof stored !== 'string' || typeof actual !== 'string') return false;
    if (stored.startsWith(HASHED_SECRET_PREFIX)) return constantTimeEqual(sha256(actual), stored.slice(HASHED_SECRET_PREFIX.length));
    return constantTimeEqual(actual, stored);
  };
}
