import { errors, type Configuration, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import { z } from 'zod';
import { updateClientBody } from '../clients/metadata-schemas.js';
import { checkRedirectUris } from '../clients/redirect-uris.js';
import { needsSecretAsKey } from '../clients/store.js';
import { generateSecret } from '../crypto/secrets.js';
import { findUnstorable } from '../http/input-guard.js';
import { describeIssues } from '../http/validate.js';
import { DEFAULT_CLIENT_SCOPE, extraClientMetadata, HASHED_SECRET_PREFIX } from './client-metadata.js';

type Features = NonNullable<Configuration['features']>;

/** The policy every admin-issued initial access token carries (and so every registration access token). */
export const DCR_POLICY = 'dcr-defaults';

/** Our own metadata (workspace, first party, PKCE opt-out, voice profile…): decisions only an admin makes. */
const ADMIN_ONLY = extraClientMetadata?.properties ?? [];
/** What a self-registered client may ask users for: the default set, never `admin`, `account` or `integrations:token`. */
const DCR_SCOPES = new Set(DEFAULT_CLIENT_SCOPE.split(' '));

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Admin-only fields: refused at registration; on an RFC 7592 update the stored values are kept (a client that
 * echoes them unchanged is fine, one that changes them is refused).
 */
function keepAdminDecisions(ctx: KoaContextWithOIDC, properties: Record<string, unknown>): void {
  const current = ctx.oidc.client as unknown as Record<string, unknown> | undefined;
  for (const key of ADMIN_ONLY) {
    if (key in properties && (!current || !same(properties[key], current[key]))) {
      throw new errors.InvalidClientMetadata(`${key} is set by an administrator, not by dynamic registration`);
    }
    if (current?.[key] !== undefined) properties[key] = current[key];
  }
}

/**
 * The admin API's limits (lengths, list sizes, types) on what a client registers: the PATCH schema itself, so that
 * a self-registered client survives the admin GET → PATCH round trip. Not strict: RFC 7591 §2 has the server ignore
 * metadata it does not understand (the provider drops it). The secrets the provider has already put in the
 * properties by the time policies run are not the client's input.
 */
const PROVIDER_SET = new Set(['client_secret', 'registration_access_token', 'registration_client_uri']);
const ADMIN_LIMITS = z.object(Object.fromEntries(Object.entries(updateClientBody.shape).filter(([key]) => !PROVIDER_SET.has(key))));

function checkAdminLimits(properties: Record<string, unknown>): void {
  const unstorable = findUnstorable(properties);
  if (unstorable) throw new errors.CustomOIDCProviderError('invalid_client_metadata', unstorable);
  const result = ADMIN_LIMITS.safeParse(properties);
  if (!result.success) throw new errors.CustomOIDCProviderError('invalid_client_metadata', describeIssues(result.error));
}

/** Where this request's newly issued secret is kept until the response shows it (the only place it is shown). */
const ISSUED_SECRET = Symbol('client secret issued by this request');
type SecretState = Record<symbol, string | undefined>;

/** RFC 7591 §3.2.1 secrets: 256 random bits from unreserved characters (safe in HTTP Basic). */
function issueSecret(ctx: KoaContextWithOIDC): string {
  const secret = generateSecret(256);
  (ctx.state as SecretState)[ISSUED_SECRET] = secret;
  return secret;
}

const issuedSecret = (ctx: KoaContextWithOIDC): string | undefined => (ctx.state as SecretState | undefined)?.[ISSUED_SECRET];

type ClientStatics = { needsSecret(metadata: Record<string, unknown>): boolean };

/**
 * The secret the saved client holds, as the admin PATCH decides it (src/clients/admin-service.ts, `update`). On an
 * RFC 7592 update oidc-provider carries over the secret it loaded, which for most clients is the stored hash
 * (src/clients/store.ts), and issues a new one only to a client that had none:
 * - a client that needs no secret any more (`none`, `private_key_jwt`) drops it: hash and ciphertext go, and a later
 *   switch back gets a new secret instead of reviving the old one;
 * - a client that now needs its secret as a key (`client_secret_jwt`, `HS*`) while only the hash is kept gets a new
 *   secret, stored encrypted and returned in this response once (RFC 7592 §2.2: the server may change the secret).
 *   The hash itself is never a key: whoever reads the table would hold the client's credential.
 * At registration the provider has just issued the secret (or left it out): nothing changes there.
 */
function settleSecret(ctx: KoaContextWithOIDC, properties: Record<string, unknown>): void {
  if (!(ctx.oidc.provider.Client as unknown as ClientStatics).needsSecret(properties)) {
    delete properties.client_secret;
    delete properties.client_secret_expires_at;
    return;
  }
  const secret = properties.client_secret;
  if (typeof secret === 'string' && secret.startsWith(HASHED_SECRET_PREFIX) && needsSecretAsKey(properties)) {
    properties.client_secret = issueSecret(ctx);
    properties.client_secret_expires_at = 0;
  }
}

/**
 * RFC 7591/7592 through oidc-provider's own registration endpoints, gated by initial access tokens that
 * only the admin API issues. Self-registered clients get our redirect URI rules, the default scope set
 * (never `admin`) and the `default` workspace.
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresregistration
 */
export const registration: Features['registration'] = {
  enabled: true,
  initialAccessToken: true,
  secretFactory: issueSecret,
  policies: {
    [DCR_POLICY]: (ctx, properties) => {
      keepAdminDecisions(ctx, properties);
      checkAdminLimits(properties);
      // The admin API's description; errors.InvalidRedirectUri would replace it with a fixed authorization-time text.
      const problem = checkRedirectUris(properties);
      if (problem) throw new errors.CustomOIDCProviderError('invalid_redirect_uri', problem);
      const scope = typeof properties.scope === 'string' ? properties.scope : DEFAULT_CLIENT_SCOPE;
      const refused = scope.split(' ').filter((value) => value && !DCR_SCOPES.has(value));
      if (refused.length) throw new errors.InvalidClientMetadata(`scope ${refused.join(' ')} cannot be registered dynamically (allowed: ${DEFAULT_CLIENT_SCOPE})`);
      const grantTypes = Array.isArray(properties.grant_types) ? properties.grant_types : [];
      if (grantTypes.includes('client_credentials')) throw new errors.InvalidClientMetadata('client_credentials clients are registered by an administrator');
      properties.scope = scope;
      settleSecret(ctx, properties);
    },
  },
};

export const registrationManagement: Features['registrationManagement'] = { enabled: true, rotateRegistrationAccessToken: true };

/** oidc-provider's names of the RFC 7591 registration and RFC 7592 read and update routes: their bodies describe a client. */
const REGISTRATION_ROUTES = new Set<string | undefined>(['registration', 'client', 'client_update']);

/**
 * Secrets are stored hashed (DESIGN.md, facts that bite): RFC 7592 reads must never echo the stored hash,
 * and an update that repeats the client's real secret (RFC 7592 §2.2) is checked against the hash.
 * A secret is shown once (DESIGN.md, security rules): a registration response carries `client_secret` only when
 * this request issued it (registration, or an update that issued a new one); never the hash, and never a kept
 * secret decrypted for the provider (a client that needs it as a key).
 */
export function installRegistrationSecretGuard(provider: Provider): void {
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    if (ctx.method === 'PUT' && ctx.path.startsWith('/reg/') && ctx.is('application/json')) {
      try {
        await checkEchoedSecret(provider, ctx);
      } catch (error) {
        // This runs before the provider's own error handling: answer in its JSON shape here.
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: error instanceof errors.OIDCProviderError ? error.error_description : 'the request body could not be read' };
        return;
      }
    }
    await next();
    if (!REGISTRATION_ROUTES.has(ctx.oidc?.route)) return;
    const body = ctx.body as { client_secret?: unknown } | undefined;
    const issued = issuedSecret(ctx);
    if (body && typeof body === 'object' && 'client_secret' in body && (issued === undefined || body.client_secret !== issued)) delete body.client_secret;
  });
}

const BODY_LIMIT = 56 * 1024;

/**
 * Reads the PUT body once; when it repeats the client's secret and the secret matches the stored hash, the
 * field is dropped so the provider (which compares against what it holds) accepts it. The provider then
 * uses the pre-read body (`req.body`).
 */
async function checkEchoedSecret(provider: Provider, ctx: KoaContextWithOIDC): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new errors.InvalidRequest('request entity too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.client_secret === 'string') {
    let clientId: string;
    try {
      clientId = decodeURIComponent(ctx.path.slice('/reg/'.length));
    } catch {
      throw new errors.InvalidRequest('malformed client id in the path');
    }
    const client = await provider.Client.find(clientId);
    if (client && (await client.compareClientSecret(parsed.client_secret))) delete parsed.client_secret;
  }
  (ctx.req as typeof ctx.req & { body?: unknown }).body = parsed && typeof parsed === 'object' ? parsed : raw;
}
