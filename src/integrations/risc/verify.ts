import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../../config.js';
import { HttpError } from '../../http/errors.js';
import { isLoopbackHost } from '../../http/loopback.js';

/** RFC 8935 §2.4 error codes (the SET Transmitter reads `err`). */
export type RiscErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed';

/**
 * A SET we refuse: 400 (413 for a body over the limit, 415 for a media type we do not read). The body carries
 * RFC 8935's `err`/`description` and, like every error of this API, `error`/`error_description`.
 */
export class RiscError extends Error {
  override name = 'RiscError';
  constructor(
    readonly err: RiscErrorCode,
    description: string,
    readonly status = 400,
  ) {
    super(description);
  }

  get body() {
    return { err: this.err, description: this.message, error: this.err, error_description: this.message };
  }
}

/** Google signs with RS256; ES256 lets a test or another transmitter use EC keys. Never `none` or HMAC. */
export const RISC_ALGORITHMS = ['RS256', 'ES256'];
/** Clock skew accepted between the transmitter and us on `iat` (and `exp`/`nbf` when a SET has them). */
export const CLOCK_TOLERANCE_SECONDS = 30;
/**
 * SETs older than this (by `iat`) are refused; the replay guard keeps a `jti` at least this long, so every SET we
 * can accept is covered by it. Google redelivers undelivered events with limited retries, well within a week.
 */
export const DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600;

/** Compact JWS: three base64url parts (an encrypted SET has five, and is not something Google sends). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * CONTRACT.md: the JWKS URI may use `http` only on loopback. config.ts accepts any http(s) URL, so the rule is
 * enforced here; call it at start so a bad value stops the start with the variable's name.
 */
export function assertRiscConfig(risc: { jwksUri: string }): void {
  const url = new URL(risc.jwksUri);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new ConfigError('Invalid configuration: GOOGLE_RISC_JWKS_URI: http is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https');
  }
}

/** Google's issuer is `https://accounts.google.com/`; the same without the slash is the same issuer. */
export const issuerForms = (issuer: string): string[] => {
  const bare = issuer.replace(/\/+$/, '');
  return [...new Set([issuer, bare, `${bare}/`])];
};

export interface SetVerifierOptions {
  issuer: string;
  jwksUri: string;
  audience: string | string[];
  clock: () => number;
  maxAgeSeconds?: number;
  /** The key source (default: the remote JWKS at `jwksUri`, cached and refreshed by jose). */
  keys?: JWTVerifyGetKey;
}

/** A verified SET: RFC 8417 claims we rely on are present and well-formed. */
export interface VerifiedSet extends JWTPayload {
  iss: string;
  jti: string;
  iat: number;
  events: Record<string, Record<string, unknown>>;
}

function rejection(error: unknown): RiscError | undefined {
  const { code, claim, reason } = (error ?? {}) as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return new RiscError('invalid_issuer', 'the SET was not issued by the configured Cross-Account Protection issuer');
      if (claim === 'aud') return new RiscError('invalid_audience', 'the SET is not addressed to this receiver (aud is not the google provider\'s client_id)');
      if (claim === 'iat' && reason === 'check_failed') return new RiscError('invalid_request', 'the SET is issued in the future (iat)');
      return new RiscError('invalid_request', `the SET's ${claim ?? 'claims'} claim is missing or invalid`);
    case 'ERR_JWT_EXPIRED':
      return new RiscError('invalid_request', claim === 'iat' ? 'the SET is too old (iat)' : 'the SET has expired (exp)');
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
      return new RiscError('invalid_request', 'the body is not a signed JWT');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new RiscError('invalid_key', 'the SET is not signed by a key of the configured Cross-Account Protection issuer');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new RiscError('invalid_key', `the SET's signing algorithm is not accepted (${RISC_ALGORITHMS.join(', ')})`);
    default:
      return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

/**
 * Verifies a SET with jose: signature against the configured JWKS (RS256/ES256), `iss`, `aud` (the google
 * provider's client_id), `iat` (not in the future, at most `maxAgeSeconds` old), `exp`/`nbf` when present (Google
 * sends none: its events describe the past), and RFC 8417's `jti` and `events`. A bad SET is a RiscError; an
 * unreachable or broken JWKS is 503 (ours, not the transmitter's fault: it retries).
 */
export function setVerifier(options: SetVerifierOptions): (jwt: string) => Promise<VerifiedSet> {
  assertRiscConfig(options);
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.jwksUri));
  const issuer = issuerForms(options.issuer);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  return async (jwt) => {
    if (!COMPACT_JWS.test(jwt)) {
      throw new RiscError('invalid_request', jwt.split('.').length === 5 ? 'encrypted SETs are not accepted: send a signed JWT' : 'the body is not a signed JWT');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, keys, {
        issuer,
        audience: options.audience,
        algorithms: RISC_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: maxAge,
        currentDate: new Date(options.clock()),
        requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events'],
      }));
    } catch (error) {
      const refused = rejection(error);
      if (refused) throw refused;
      throw new HttpError(503, 'temporarily_unavailable', 'the Cross-Account Protection signing keys could not be fetched; try again later', { 'Retry-After': '30' });
    }
    if (typeof payload.jti !== 'string' || !payload.jti || payload.jti.length > 256) throw new RiscError('invalid_request', 'the SET has no usable jti');
    const events = payload.events;
    if (!isObject(events) || !Object.keys(events).length || Object.keys(events).length > 20) throw new RiscError('invalid_request', 'the SET has no events object');
    for (const [type, body] of Object.entries(events)) {
      if (!isObject(body) || type.length > 512) throw new RiscError('invalid_request', 'every event of the SET must be an object keyed by its event type URI');
    }
    return payload as VerifiedSet;
  };
}
