import type { Configuration } from 'oidc-provider';
import { html, layout, PAGE_CSP, SafeHtml } from '../views/html.js';
import { errorPage } from '../views/interaction-pages.js';
import { takeLogoutOutcome } from './logout-outcome.js';

type RpLogout = NonNullable<NonNullable<Configuration['features']>['rpInitiatedLogout']>;

/**
 * Errors the provider cannot send back to a client (unknown client, bad redirect_uri): JSON when the caller
 * asks for JSON, otherwise a page. https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#rendererror
 */
export const renderError: Configuration['renderError'] = async (ctx, out) => {
  if (ctx.accepts('json', 'html') === 'json') {
    ctx.type = 'json';
    ctx.body = { error: out.error, error_description: out.error_description ?? out.error };
    return;
  }
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.type = 'html';
  ctx.body = errorPage(out.error, out.error_description ?? '');
};

/** Our look for RP-initiated logout; the provider's form carries its own xsrf token. */
export const logoutPages: Pick<RpLogout, 'logoutSource' | 'postLogoutSuccessSource'> = {
  async logoutSource(ctx, form) {
    // RP-Initiated Logout 1.0 §2: the user confirms. No script may run here (PAGE_CSP), so nothing submits by itself.
    ctx.set('Content-Security-Policy', PAGE_CSP);
    // The provider's form is its own trusted markup (an xsrf hidden input); the buttons submit it.
    ctx.body = layout(
      'Sign out',
      html`<h1>Sign out?</h1>${new SafeHtml(form)}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
    );
  },
  async postLogoutSuccessSource(ctx) {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    // The page says what the confirmation did; opened directly (no logout led here) it claims no sign-out.
    const outcome = takeLogoutOutcome(ctx);
    const session = await ctx.oidc.provider.Session.get(ctx);
    if (!session.accountId) {
      ctx.body = outcome
        ? layout('Signed out', html`<h1>You are signed out</h1><p>You can close this window.</p>`)
        : layout('Not signed in', html`<h1>You are not signed in</h1><p>You can close this window.</p>`);
      return;
    }
    // "No, stay signed in" lands here too (RP-Initiated Logout 1.0 §2: the user may decline); with a client's
    // request, "No" signed the user out of that app only (oidc-provider's end_session confirm).
    const client = ctx.oidc.client;
    const app = client && outcome?.ended === 'client' && outcome.clientId === client.clientId ? (client.clientName ?? client.clientId) : undefined;
    ctx.body = layout(
      'Still signed in',
      html`<h1>You are still signed in</h1><p>${app ? `You were signed out of ${app} only.` : 'Nothing was changed.'} You can close this window.</p>`,
    );
  },
};
