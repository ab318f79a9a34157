import * as oauth from 'openid-client';

export interface UpstreamFailure {
  /** `oauth`: the provider answered with an OAuth error; `invalid_response`: its answer failed validation; `network`: no usable answer. */
  kind: 'oauth' | 'invalid_response' | 'network';
  /** The provider's OAuth error code (`invalid_grant`, …), or ours for the other kinds. */
  code: string;
  /** Safe to store and show: the provider's description or the check that failed, never a token or raw body. */
  message: string;
}

const VALIDATION_CODES = new Set(['OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', 'OAUTH_INVALID_RESPONSE', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'OAUTH_PARSE_ERROR', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_RESPONSE_IS_NOT_CONFORM']);

/** openid-client's errors reduced to what we store, audit and answer. */
export function classifyUpstreamError(error: unknown): UpstreamFailure {
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.AuthorizationResponseError) {
    return { kind: 'oauth', code: error.error, message: error.error_description ?? error.error };
  }
  if (error instanceof oauth.ClientError) {
    const cause = error.cause as { message?: string } | undefined;
    const detail = cause?.message && cause.message !== error.message ? `${error.message}: ${cause.message}` : error.message;
    if (error.code && VALIDATION_CODES.has(error.code)) return { kind: 'invalid_response', code: 'invalid_response', message: detail };
    return { kind: 'network', code: 'upstream_unavailable', message: detail };
  }
  return { kind: 'network', code: 'upstream_unavailable', message: (error as Error)?.message ?? String(error) };
}

/** An OAuth error code from a provider, safe to echo (RFC 6749 §5.2 error: %x20-21 / %x23-5B / %x5D-7E). */
export const safeErrorCode = (value: string | null | undefined): string =>
  value && /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(value) ? value : 'upstream_error';
