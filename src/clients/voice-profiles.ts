/**
 * Client profiles for voice assistants (CONTRACT.md, Admin API `profile`). A profile fills in the platform's
 * redirect URIs and the token rules these platforms need: refresh tokens on the first code exchange, long-lived
 * (VOICE_REFRESH_TOKEN_TTL) and not bound to a browser session, opaque access tokens, PKCE optional.
 */
export const VOICE_PROFILES = ['alexa', 'google'] as const;
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export type VoiceProfile = (typeof VOICE_PROFILES)[number];

/** Alexa vendor ids are upper-case letters and digits (developer console, "Alexa Redirect URLs"). */
export const ALEXA_VENDOR_ID = /^[A-Z0-9]{6,32}$/;
/** Google Cloud project ids: 6–30 characters, lower-case letters, digits, hyphens, starting with a letter. */
export const GOOGLE_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * https://developer.amazon.com/en-US/docs/alexa/account-linking/configure-authorization-code-grant.html
 * (one redirect URL per Alexa region).
 */
export const alexaRedirectUris = (vendorId: string) =>
  ['https://pitangui.amazon.com', 'https://layla.amazon.com', 'https://alexa.amazon.co.jp'].map((host) => `${host}/api/skill/link/${vendorId}`);

/** https://developers.google.com/identity/account-linking/oauth-linking (production and sandbox). */
export const googleRedirectUris = (projectId: string) =>
  ['https://oauth-redirect.googleusercontent.com', 'https://oauth-redirect-sandbox.googleusercontent.com'].map((host) => `${host}/r/${projectId}`);

export const isVoiceProfile = (value: unknown): value is VoiceProfile => VOICE_PROFILES.includes(value as VoiceProfile);

/** What each platform uses: the authorization code grant and refresh (Google also its streamlined linking). */
const PROFILE_GRANTS: Record<VoiceProfile, readonly string[]> = {
  alexa: ['authorization_code', 'refresh_token'],
  google: ['authorization_code', 'refresh_token', JWT_BEARER_GRANT],
};
const PROFILE_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

/**
 * A voice client is the platform's account-linking client and nothing else: a grant type it does not use (say
 * client_credentials, which with scope `admin` would make the secret handed to Amazon or Google an admin
 * credential), an implicit response type, or no secret contradicts the profile. Returns why, or undefined.
 */
export function voiceProfileProblem(metadata: Record<string, unknown>): string | undefined {
  const profile = metadata.profile;
  if (!isVoiceProfile(profile)) return undefined;
  const client = profile === 'alexa' ? 'an Alexa client' : 'a Google client';
  const allowed = PROFILE_GRANTS[profile];
  const extraGrants = ((metadata.grant_types as string[] | undefined) ?? []).filter((type) => !allowed.includes(type));
  if (extraGrants.length) return `${client} uses only the grant types ${allowed.join(', ')}, not ${extraGrants.join(', ')}`;
  const extraResponses = ((metadata.response_types as string[] | undefined) ?? []).filter((type) => type !== 'code');
  if (extraResponses.length) return `${client} uses only the response type code, not ${extraResponses.join(', ')}`;
  if (!PROFILE_AUTH_METHODS.includes(String(metadata.token_endpoint_auth_method))) {
    return `${client} authenticates with its secret (${PROFILE_AUTH_METHODS.join(' or ')})`;
  }
  return undefined;
}

/**
 * The metadata a profile implies, under what the admin sent (an admin's own redirect URIs are kept alongside).
 * Both platforms authenticate with a client secret, Alexa by default with HTTP Basic and Google in the form
 * body: oidc-provider accepts either style for a `client_secret_*` client.
 */
export function applyVoiceProfile(input: Record<string, unknown>): Record<string, unknown> {
  const profile = input.profile;
  if (!isVoiceProfile(profile)) return input;
  const platformUris = profile === 'alexa' ? alexaRedirectUris(String(input.alexa_vendor_id)) : googleRedirectUris(String(input.google_project_id));
  const own = Array.isArray(input.redirect_uris) ? (input.redirect_uris as string[]) : [];
  return {
    client_name: profile === 'alexa' ? 'Amazon Alexa' : 'Google Assistant',
    // Google also gets streamlined linking (urn:ietf:params:oauth:grant-type:jwt-bearer, GOOGLE_LINKING_CLIENT_ID).
    grant_types: [...PROFILE_GRANTS[profile]],
    response_types: ['code'],
    token_endpoint_auth_method: profile === 'alexa' ? 'client_secret_basic' : 'client_secret_post',
    require_pkce: false,
    ...input,
    redirect_uris: [...new Set([...platformUris, ...own])],
  };
}
