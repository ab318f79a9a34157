import { html, layout } from './html.js';

export interface LoginView {
  action: string;
  csrf: string;
  clientName: string;
  email?: string;
  error?: string;
}

/** One email input, one password input, one submit (CONTRACT.md). */
export function loginPage(view: LoginView): string {
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p class="muted">to continue to <strong>${view.clientName}</strong></p>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
<form method="post" action="${view.action}" autocomplete="on">
  <input type="hidden" name="csrf" value="${view.csrf}">
  <label for="email">Email</label>
  <input id="email" type="email" name="email" value="${view.email ?? ''}" required autofocus autocomplete="username">
  <label for="password">Password</label>
  <input id="password" type="password" name="password" required autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>`,
  );
}

export interface ConsentView {
  confirmAction: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  scopes: string[];
  accountEmail: string;
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Keep access while you are away',
  account: 'Manage the apps linked to your account',
  'integrations:token': 'Use the accounts you linked (Google, Microsoft, …)',
};

/** One form that grants; "deny" is a separate form (CONTRACT.md). */
export function consentPage(view: ConsentView): string {
  return layout(
    'Authorize access',
    html`<h1>${view.clientName} wants access</h1>
<p class="muted">Signed in as ${view.accountEmail}</p>
<ul class="scopes">${view.scopes.map((scope) => html`<li>${SCOPE_TEXT[scope] ?? scope} <span class="muted">(<code>${scope}</code>)</span></li>`)}</ul>
<form method="post" action="${view.confirmAction}">
  <input type="hidden" name="csrf" value="${view.csrf}">
  <button type="submit">Allow</button>
</form>
<form method="post" action="${view.abortAction}">
  <input type="hidden" name="csrf" value="${view.csrf}">
  <button type="submit" class="secondary">Deny</button>
</form>`,
  );
}

export function errorPage(error: string, description: string): string {
  return layout('Something went wrong', html`<h1>Something went wrong</h1><p class="error"><code>${error}</code></p><p>${description}</p>`);
}
