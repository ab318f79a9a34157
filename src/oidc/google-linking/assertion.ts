import { isLoopbackHost } from '../../http/loopback.js';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { errors } from 'oidc-provider';
import { ConfigError, type Config } from '../../config.js';

/** The Google identity a verified ID token asserts. */
export interface GoogleIdentity {
  sub: string;
  email: string;
  emailVerified: boolean;
  name?: string;
}

export type VerifyAssertion = (assertion: string) => Promise<GoogleIdentity>;

/** Google signs ID tokens with RS256; ES256 lets a test or another issuer use EC keys. Never `none` or HMAC. */
const ALGORITHMS = ['RS256', 'ES256'];
/** Clock skew accepted between Google and us on `exp`, `iat`, `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Google ID tokens name either issuer form (https://developers.google.com/identity/gsi/web/guides/verify-google-id-token). */
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

/**
 * CONTRACT.md: the JWKS URI may use `http` only on loopback. config.ts accepts any http(s) URL, so the rule is
 * enforced here, at start, with the variable's name (a bad value stops the start).
 */
export function assertLinkingConfig(linking: Config['googleLinking']): void {
  const url = new URL(linking.jwksUri);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(`Invalid configuration: GOOGLE_LINKING_JWKS_URI: http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https`);
  }
}

/** Jose failures that mean "this assertion is not acceptable"; anything else (JWKS unreachable, bad JWKS) is ours. */
const REJECTED = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
]);

function unavailable(): Error {
  // Same shape as the adapter's store failures: 503 temporarily_unavailable, not a 500.
  const error = new errors.TemporarilyUnavailable('the Google signing keys could not be fetched, try again later');
  return Object.assign(error, { status: 503, statusCode: 503, expose: true });
}

const isTrue = (value: unknown) => value === true || value === 'true';

function identityOf(payload: JWTPayload): GoogleIdentity {
  const { sub, email, name, given_name: given, family_name: family } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== 'string' || !sub) throw new errors.InvalidGrant('assertion has no sub');
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new errors.InvalidGrant('assertion has no usable email');
  const fullName = typeof name === 'string' && name.trim() ? name.trim() : [given, family].filter((p) => typeof p === 'string' && p).join(' ');
  return { sub, email, emailVerified: isTrue(payload.email_verified), ...(fullName ? { name: fullName } : {}) };
}

/**
 * Verifies a Google ID token (the `assertion` of Google's streamlined linking) with jose: signature against the
 * configured JWKS (cached and refreshed by jose), `iss`, `aud` = our Google client id, `exp`/`iat`, `sub`, `email`.
 * A bad token is `invalid_grant`; an unreachable JWKS is 503 `temporarily_unavailable`.
 */
export function assertionVerifier(linking: Config['googleLinking'] & { clientId: string }): VerifyAssertion {
  const jwks = createRemoteJWKSet(new URL(linking.jwksUri));
  const issuer = GOOGLE_ISSUERS.includes(linking.issuer.replace(/\/+$/, '')) ? GOOGLE_ISSUERS : [linking.issuer];
  return async (assertion) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, jwks, {
        issuer,
        audience: linking.clientId,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['sub', 'email', 'exp', 'iat'],
      }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code && REJECTED.has(code)) throw new errors.InvalidGrant(`assertion rejected: ${code}`);
      throw unavailable();
    }
    return identityOf(payload);
  };
}
