import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { constantTimeEqual } from '../crypto/secrets.js';
import { badRequest } from '../http/errors.js';
import { ACCOUNT_CONSOLE_CLIENT_ID, accountCallbackUrl } from '../../seeds/index.js';

const STATE_COOKIE = 'account_signin';
const STATE_TTL_SECONDS = 600;

const callbackQuery = z.object({
  state: z.string().min(1).max(200),
  code: z.string().max(4096).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

export interface SignInDependencies {
  provider: Provider;
  issuer: string;
  /** HMAC key for the state cookie. */
  secret: Buffer;
  clock: () => number;
}

/**
 * Signs the browser in to the account page through a normal authorization-code + PKCE request of the built-in
 * first-party client `account-console`: the provider runs its own login page and sets its `_session` cookie,
 * which is what the page reads afterwards. The seeds ensure that client at every start. `state` lives in a short-lived HMAC'd cookie (HttpOnly, SameSite=Lax).
 */
export function accountSignIn({ provider, issuer, secret, clock }: SignInDependencies) {
  const redirectUri = accountCallbackUrl(issuer);
  const mac = (state: string, exp: number) => createHmac('sha256', secret).update(`account-signin:${state}:${exp}`).digest('base64url');

  const cookieOptions = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, path: '/account', secure: ctx.secure, signed: false, overwrite: true });

  return {
    /** Sets the state cookie and sends the browser to the authorization endpoint. */
    async start(ctx: Context): Promise<void> {
      const state = randomBytes(32).toString('base64url');
      const exp = Math.floor(clock() / 1000) + STATE_TTL_SECONDS;
      // PKCE is required for every client; the verifier is not kept because the code is never redeemed (see finish).
      const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
      ctx.cookies.set(STATE_COOKIE, `${state}.${exp}.${mac(state, exp)}`, { ...cookieOptions(ctx), maxAge: STATE_TTL_SECONDS * 1000 });
      const url = new URL(provider.pathFor('authorization'), issuer);
      url.search = new URLSearchParams({
        client_id: ACCOUNT_CONSOLE_CLIENT_ID,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(url.href);
    },

    /**
     * Checks the authorization response against the state cookie (and `iss`, RFC 9207), then clears the cookie.
     * The code is not exchanged: the page is authenticated by the provider's session cookie, which the flow has
     * just set, and redeeming the code would only mean an HTTP call to our own public issuer URL (not always
     * reachable from inside, behind a proxy) for tokens nothing uses. An unredeemed code expires in
     * AUTHORIZATION_CODE_TTL (60 s) and cannot be used without the discarded PKCE verifier.
     */
    finish(ctx: Context): void {
      const parsed = callbackQuery.safeParse(ctx.query);
      const cookie = ctx.cookies.get(STATE_COOKIE) ?? '';
      ctx.cookies.set(STATE_COOKIE, null, cookieOptions(ctx));
      if (!parsed.success) throw badRequest('the sign-in response is malformed; go back to your account page and try again');
      const [state = '', exp = '', tag = ''] = cookie.split('.');
      const fresh = Number(exp) > clock() / 1000;
      if (!fresh || !constantTimeEqual(tag, mac(state, Number(exp))) || !constantTimeEqual(state, parsed.data.state)) {
        throw badRequest('the sign-in expired or was not started in this browser; go back to your account page and try again');
      }
      if (parsed.data.iss !== undefined && parsed.data.iss !== issuer) throw badRequest('the sign-in response came from another issuer');
      if (parsed.data.error) throw badRequest(parsed.data.error_description ?? 'the sign-in did not complete', parsed.data.error);
      if (!parsed.data.code) throw badRequest('the sign-in response has no authorization code');
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect('/account');
    },
  };
}
