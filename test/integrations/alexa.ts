import { randomBytes } from 'node:crypto';
import { LOCAL_PROVIDERS, type ConsumerWorld } from './setup.js';

/** Where Login with Amazon sends the grant code in the real flow; Alexa receives it, the skill never redirects. */
export const ALEXA_REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';

/**
 * Makes the upstream client's only redirect URI Alexa's: LWA's exchange of an AcceptGrant code carries no
 * redirect_uri, which an authorization server allows only when the client has exactly one (oidc-provider too).
 * `restoreCallbacks` puts the consumer's callbacks back for the other flows.
 */
export const useAlexaRedirect = (world: ConsumerWorld) => world.upstream.setRedirectUris([ALEXA_REDIRECT_URI]);
export const restoreCallbacks = (world: ConsumerWorld) => world.upstream.setRedirectUris(LOCAL_PROVIDERS.map((name) => `${world.server.url}/integrations/${name}/callback`));

/** A grant code from the upstream standing in for LWA, obtained the way Alexa obtains it when a skill is enabled. */
export async function lwaGrantCode(world: ConsumerWorld): Promise<string> {
  const url = new URL(`${world.upstream.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: world.upstream.clientId,
    response_type: 'code',
    redirect_uri: ALEXA_REDIRECT_URI,
    scope: 'openid email offline_access',
    state: randomBytes(8).toString('hex'),
  }).toString();
  const redirect = await world.upstream.completeLogin(url.toString());
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirect}`);
  return code;
}

/** The directive exactly as Alexa sends it to the skill (payloadVersion 3), in its request envelope. */
export const acceptGrantDirective = (code: string, granteeToken: string) => ({
  directive: {
    header: { namespace: 'Alexa.Authorization', name: 'AcceptGrant', messageId: `msg-${randomBytes(6).toString('hex')}`, payloadVersion: '3' },
    payload: { grant: { type: 'OAuth2.AuthorizationCode', code }, grantee: { type: 'BearerToken', token: granteeToken } },
  },
});
