import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { sha256 } from '../../crypto/secrets.js';
import type { Logger } from 'winston';
import type { ArtifactStore, Clock } from './artifact-store.js';
import { temporarilyUnavailable } from '../store-outage.js';
import { isStorable, isStorableText } from '../storable.js';

/** Models whose id is an identifier, not a bearer secret: stored under their own id. */
const PLAIN_ID_MODELS = new Set(['Grant', 'Client']);

export interface AdapterStores {
  /** Grants, refresh tokens, sessions: must survive a Redis flush. */
  durable: ArtifactStore;
  /** Codes, interactions, PAR, replay detection. */
  ephemeral: ArtifactStore;
  /** Access tokens (user and client_credentials) and grants: Redis with a Postgres copy when Redis is configured. */
  writeThrough: ArtifactStore;
  /**
   * The Redis side of `writeThrough` alone, when Redis is configured: a refresh-token lookup asks it first, and a
   * value found there is an access token, so the refresh-token row need not be looked for in Postgres.
   */
  accessTokenCache?: Pick<ArtifactStore, 'find'>;
  /** Clients come from the clients table. */
  clients: Pick<ArtifactStore, 'find' | 'upsert' | 'destroy'>;
}

/** Models oidc-provider also looks up by uid or user code: their value is kept, encrypted, in the payload. */
const FIND_BY_MODELS = new Set(['Session', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const EPHEMERAL = new Set(['AuthorizationCode', 'Interaction', 'ReplayDetection', 'PushedAuthorizationRequest']);
/**
 * Bearer tokens already handed out keep working through a Redis flush or outage. Both kinds: introspection and
 * our bearer auth look a token up as both at once, so one kind only in Redis would fail them all while it is down.
 */
const ACCESS_TOKENS = new Set(['AccessToken', 'ClientCredentials']);
/**
 * Read on every introspection, refresh and bearer-authenticated request, written rarely (consent, revocation):
 * served from Redis, with Postgres as the source of truth. Deletion reaches Redis first (write-through-store.ts),
 * so a revoked grant is never found again.
 */
const CACHED_DURABLE = new Set([...ACCESS_TOKENS, 'Grant']);

/**
 * The models stored under another model's name. Both kinds of bearer access token share one namespace: a token
 * value has one kind, so the two lookups oidc-provider makes for every bearer token (introspection, userinfo, our
 * bearer auth: AccessToken and ClientCredentials at once) read one key, and the payload's `kind` tells which it is.
 * Migration 20261121170000_access_token_namespace moved the older rows.
 */
const ACCESS_TOKEN_NAMESPACE = 'AccessToken';
const STORED_AS: Record<string, string> = { ClientCredentials: ACCESS_TOKEN_NAMESPACE };

function storeFor(model: string, stores: AdapterStores): ArtifactStore {
  if (CACHED_DURABLE.has(model)) return stores.writeThrough;
  if (EPHEMERAL.has(model)) return stores.ephemeral;
  return stores.durable;
}

/**
 * A store failure must not render as a 500 with a stack: oidc-provider answers 503 temporarily_unavailable
 * for an error with that status (DESIGN.md, "facts that bite").
 */
function unavailable(cause: unknown, logger: Logger): never {
  if (cause instanceof errors.OIDCProviderError) throw cause;
  logger.error('oidc store unavailable', { error: (cause as Error)?.message });
  throw temporarilyUnavailable();
}

/**
 * A payload Postgres cannot hold comes from request input (`state`, `login_hint`, client metadata…): refused as
 * `invalid_request` (oidc-provider renders it as a 400, or sends it back to the client once its redirect_uri is
 * checked), whichever store the model lives in, so Redis and Postgres deployments answer alike.
 */
function assertStorable(model: string, payload: AdapterPayload): void {
  if (isStorable(payload)) return;
  const why = 'holds U+0000 or an unpaired UTF-16 surrogate, which cannot be stored';
  // Dynamic registration (RFC 7591 §3.2.2): bad metadata is invalid_client_metadata.
  throw model === 'Client' ? new errors.InvalidClientMetadata(`client metadata ${why}`) : new errors.InvalidRequest(`a parameter ${why}`);
}

export interface AdapterOptions {
  stores: AdapterStores;
  clock: Clock;
  refreshTokenReuseGraceSeconds: number;
  logger: Logger;
  /** Encrypts/decrypts artifact values that must be recoverable (see FIND_BY_MODELS). */
  sealer: { encrypt(plaintext: string, aad: string): string; decrypt(ciphertext: string, aad: string): string };
  /** The provider route of the request being served (`Provider.ctx?.oidc?.route`), when there is one. */
  currentRoute?: () => string | undefined;
}

/** Builds the adapter class handed to oidc-provider (`adapter` option). */
export function createAdapterClass(options: AdapterOptions): new (name: string) => Adapter {
  const { stores, clock, logger, sealer } = options;
  const graceMs = options.refreshTokenReuseGraceSeconds * 1000;

  return class OidcAdapter implements Adapter {
    readonly #model: string;
    /** The name the stores file it under (STORED_AS). */
    readonly #stored: string;
    readonly #store: ArtifactStore | AdapterStores['clients'];
    readonly #hashIds: boolean;

    constructor(name: string) {
      this.#model = name;
      this.#stored = STORED_AS[name] ?? name;
      this.#store = name === 'Client' ? stores.clients : storeFor(name, stores);
      this.#hashIds = !PLAIN_ID_MODELS.has(name);
    }

    #key(id: string): string {
      return this.#hashIds ? sha256(id) : id;
    }

    get #artifacts(): ArtifactStore {
      return this.#store as ArtifactStore;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      assertStorable(this.#model, payload);
      // The token value (jti) is not stored next to its hash; find() puts it back.
      const { jti: _jti, ...rest } = payload;
      const key = this.#key(id);
      const stored: Record<string, unknown> = this.#hashIds ? rest : { ...payload };
      if (this.#hashIds && FIND_BY_MODELS.has(this.#model)) stored.sealedJti = sealer.encrypt(id, this.#aad(key));
      try {
        await this.#store.upsert(this.#stored, key, stored, expiresIn || undefined, {
          grantId: payload.grantId,
          uid: payload.uid,
          userCode: payload.userCode,
          accountId: payload.accountId,
          clientId: payload.clientId,
        });
      } catch (error) {
        unavailable(error, logger);
      }
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      // No stored id holds what Postgres cannot store (storable.ts): `client_id=%00` is "not found", not an outage.
      if (!isStorableText(id)) return undefined;
      try {
        const key = this.#key(id);
        if (this.#model === 'RefreshToken' && (await this.#isAccessToken(key))) return undefined;
        const found = await this.#store.find(this.#stored, key);
        // A shared namespace holds other kinds too; oidc-provider throws on a payload of another kind.
        if (!found || (found.payload.kind !== undefined && found.payload.kind !== this.#model)) return undefined;
        return this.#toPayload(id, found.payload, found.consumedAt);
      } catch (error) {
        return unavailable(error, logger);
      }
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.#findBy('user_code', userCode);
    }

    async #findBy(column: 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      if (!isStorableText(value)) return undefined;
      try {
        const found = await this.#artifacts.findBy(this.#stored, column, value);
        if (!found) return undefined;
        const sealed = found.artifact.payload.sealedJti;
        if (typeof sealed !== 'string') return undefined;
        const id = sealer.decrypt(sealed, this.#aad(found.key));
        return this.#toPayload(id, found.artifact.payload, found.artifact.consumedAt);
      } catch (error) {
        return unavailable(error, logger);
      }
    }

    /**
     * Whether Redis holds an access token under this key. Only a hit counts: a miss (or Redis down) says nothing,
     * and the durable store is asked as before. Keys are hashes of random values, so a hit rules out any other kind.
     */
    async #isAccessToken(key: string): Promise<boolean> {
      // The token endpoint looks a value up as a refresh token only for the refresh grant: asking Redis whether it
      // is an access token would cost every refresh a round trip for nothing (docs/performance.md, fourth round).
      if (!stores.accessTokenCache || options.currentRoute?.() === 'token') return false;
      const found = await stores.accessTokenCache.find(ACCESS_TOKEN_NAMESPACE, key).catch(() => undefined);
      return found !== undefined;
    }

    #aad(key: string): string {
      return `oidc_models:${this.#model}:${key}:jti`;
    }

    #toPayload(id: string, payload: Record<string, unknown>, consumedAt: number | undefined): AdapterPayload {
      const { sealedJti: _sealed, ...rest } = payload;
      const result: AdapterPayload = { ...rest };
      if (this.#hashIds) result.jti = id;
      if (consumedAt !== undefined) {
        // Refresh-token grace window: a token consumed moments ago by a concurrent duplicate refresh is
        // answered again instead of being treated as reuse (oidc-provider 9 has no window of its own).
        const inGrace = this.#model === 'RefreshToken' && consumedAt >= clock() - graceMs;
        if (!inGrace) result.consumed = Math.floor(consumedAt / 1000);
      }
      return result;
    }

    async consume(id: string): Promise<void> {
      let won: boolean;
      try {
        const graceSince = this.#model === 'RefreshToken' ? clock() - graceMs : undefined;
        won = await this.#artifacts.consume(this.#stored, this.#key(id), graceSince);
      } catch (error) {
        return unavailable(error, logger);
      }
      // oidc-provider ignores consume()'s result: a lost race must throw, or every parallel redemption wins.
      if (!won) {
        if (this.#model === 'PushedAuthorizationRequest') throw new errors.InvalidRequestUri('request_uri was already used');
        throw new errors.InvalidGrant(`${this.#model === 'AuthorizationCode' ? 'authorization code' : 'grant'} already used`);
      }
    }

    async destroy(id: string): Promise<void> {
      try {
        await this.#store.destroy(this.#stored, this.#key(id));
      } catch (error) {
        unavailable(error, logger);
      }
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      try {
        await this.#artifacts.revokeByGrantId(this.#stored, grantId);
      } catch (error) {
        unavailable(error, logger);
      }
    }
  };
}
