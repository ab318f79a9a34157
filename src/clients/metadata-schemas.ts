import { z } from 'zod';
import { readOnlyFields } from '../http/read-only-fields.js';
import { resourceIdentifierProblem } from '../oidc/resource-servers.js';
import { ALEXA_VENDOR_ID, GOOGLE_PROJECT_ID, VOICE_PROFILES } from './voice-profiles.js';

/**
 * The client metadata a caller may send: the admin API's create and update bodies (src/admin/clients.ts), whose
 * limits dynamic registration applies too (src/oidc/registration.ts).
 */

const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_:.-]{0,63}$/;
/** Renamed roles per client: far more than a client has roles (a user holds at most 50, src/admin/users.ts). */
export const ROLE_MAP_MAX_ENTRIES = 100;
const clientId = z.string().regex(/^[A-Za-z0-9._~-]{3,128}$/, '3–128 characters from A-Z a-z 0-9 . _ ~ -');

/** Ours (CONTRACT.md, Admin API) and the RFC 7591 core; typed here, checked again by oidc-provider and the service. */
const ours = {
  workspace_id: z.string().min(1).max(128).optional(),
  first_party: z.boolean().optional(),
  require_pkce: z.boolean().optional(),
  client_name: z.string().min(1).max(200).optional(),
  redirect_uris: z.array(z.string().max(2000)).max(50).optional(),
  /**
   * Not empty (RFC 7591 §2.1, consistent with `response_types`): a client without a grant type can do nothing, and
   * oidc-provider would quietly add authorization_code for `response_types` ["code"], so GET would not show what runs.
   */
  grant_types: z.array(z.string()).min(1, 'at least one grant type (a client without one can do nothing; RFC 7591 §2)').optional(),
  scope: z.string().max(2000).optional(),
  profile: z.enum(VOICE_PROFILES).optional(),
  alexa_vendor_id: z.string().regex(ALEXA_VENDOR_ID, 'upper-case letters and digits (Alexa developer console)').optional(),
  google_project_id: z.string().regex(GOOGLE_PROJECT_ID, 'a Google Cloud project id').optional(),
  /** Our role → this client's name for it (issue 8, "Roles"). */
  role_map: z
    .record(z.string().regex(ROLE_NAME, 'a role name'), z.string().regex(ROLE_NAME, 'a role name'))
    .refine((map) => Object.keys(map).length <= ROLE_MAP_MAX_ENTRIES, { error: (issue) => `at most ${ROLE_MAP_MAX_ENTRIES} entries (one per renamed role), not ${Object.keys(issue.input as object).length}` })
    .meta({ maxProperties: ROLE_MAP_MAX_ENTRIES })
    .optional(),
  /**
   * Resource server identifiers this client may exchange a user's token for (RFC 8693): the form `POST /admin/resources`
   * requires (an absolute https, http or urn URI, no credentials, no fragment), since only such an identifier can match.
   */
  token_exchange_audiences: z
    .array(
      z
        .string()
        .max(2000)
        .superRefine((value, ctx) => {
          const problem = resourceIdentifierProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a resource server identifier: ${problem}` });
        }),
    )
    .max(50)
    .optional(),
};

const uri = z.string().max(2000);
/** OpenID Connect Back-Channel Logout 1.0 §2.2: the backchannel_logout_uri MUST NOT include a fragment. */
const withoutFragment = uri.refine((value) => !value.includes('#'), 'must not include a fragment (OpenID Back-Channel Logout 1.0 §2.2)');
const names = z.array(z.string().max(200)).max(50);

/**
 * The rest of the RFC 7591 / OpenID Connect Registration metadata oidc-provider understands with our features
 * (its RECOGNIZED_METADATA plus rpInitiatedLogout, backchannelLogout, pushedAuthorizationRequests, dPoP). Typed
 * loosely: the provider validates values. A key outside this list would be stored and echoed but ignored by the
 * provider (`software_id`, `userinfo_signed_response_alg` without jwtUserinfo…): it is refused instead.
 */
const providerMetadata = {
  response_types: names,
  response_modes: names,
  token_endpoint_auth_method: z.string().max(100),
  token_endpoint_auth_signing_alg: z.string().max(100),
  application_type: z.string().max(20),
  client_uri: uri,
  logo_uri: uri,
  policy_uri: uri,
  tos_uri: uri,
  initiate_login_uri: uri,
  jwks_uri: uri,
  jwks: z.record(z.string(), z.unknown()),
  sector_identifier_uri: uri,
  contacts: z.array(z.string().max(320)).max(20),
  post_logout_redirect_uris: z.array(uri).max(50),
  backchannel_logout_uri: withoutFragment,
  backchannel_logout_session_required: z.boolean(),
  default_acr_values: names,
  default_max_age: z.number().int().min(0),
  require_auth_time: z.boolean(),
  subject_type: z.string().max(20),
  id_token_signed_response_alg: z.string().max(100),
  require_pushed_authorization_requests: z.boolean(),
  dpop_bound_access_tokens: z.boolean(),
};
type ProviderMetadata = typeof providerMetadata;

const SERVER_SET = ['client_secret', 'client_secret_expires_at', 'client_id_issued_at', 'registration_access_token', 'registration_client_uri'] as const;
/** Never shown by GET, so never sent back: a PATCH carrying one is refused. */
const SECRETS = ['client_secret', 'registration_access_token', 'registration_client_uri'] as const;

/** A known key that may not be sent: present, it fails with `why` (and the document shows it as never allowed). */
const refused = (keys: readonly string[], why: string) => Object.fromEntries(keys.map((key) => [key, z.never({ error: why }).optional().describe(why)]));

const SET_BY_SERVER = 'is set by the server';
const FIXED_AT_CREATION = 'is fixed at creation; create a new client for another platform';
/**
 * Read-only keys GET shows (`client_id_issued_at`, `client_secret_expires_at` on dynamically registered clients; the
 * timestamps too, read-only-fields.ts) that a PATCH may send back as GET showed them (GET → modify → PATCH).
 */
export const readOnlyClientFields = readOnlyFields(
  {
    client_id: SET_BY_SERVER,
    client_id_issued_at: SET_BY_SERVER,
    client_secret_expires_at: SET_BY_SERVER,
    profile: FIXED_AT_CREATION,
    alexa_vendor_id: FIXED_AT_CREATION,
    google_project_id: FIXED_AT_CREATION,
  },
  'invalid_client_metadata',
);

/** Unknown keys: 400 naming them, rather than stored, echoed and ignored by the provider. */
const strictClientObject = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((key) => `"${key}"`).join(', ')}: not client metadata this server understands` : undefined),
  });

const optional = <S extends Record<string, z.ZodType>>(shape: S) =>
  Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, schema.optional()])) as { [K in keyof S]: z.ZodOptional<S[K]> };
const removable = <S extends Record<string, z.ZodType>>(shape: S) =>
  Object.fromEntries(Object.entries(shape).map(([key, schema]) => [key, schema.nullable().optional()])) as { [K in keyof S]: z.ZodOptional<z.ZodNullable<S[K]>> };

export const createClientBody = strictClientObject({
  ...ours,
  ...optional<ProviderMetadata>(providerMetadata),
  client_id: clientId.optional(),
  ...refused(SERVER_SET, SET_BY_SERVER),
});

/** PATCH: the same fields; `null` removes an optional one. */
export const updateClientBody = strictClientObject({
  workspace_id: ours.workspace_id,
  first_party: z.boolean().nullable().optional(),
  require_pkce: z.boolean().nullable().optional(),
  client_name: z.string().min(1).max(200).nullable().optional(),
  redirect_uris: ours.redirect_uris,
  grant_types: ours.grant_types,
  scope: ours.scope,
  role_map: ours.role_map.nullable(),
  token_exchange_audiences: ours.token_exchange_audiences.nullable(),
  ...removable<ProviderMetadata>(providerMetadata),
  ...readOnlyClientFields.shape,
  ...refused(SECRETS, 'cannot be changed here'),
});
