import type { GrantView } from '../grants/service.js';
import { html, layout } from './html.js';

export interface AccountPageView {
  email: string;
  apps: GrantView[];
  /** The session-bound CSRF token every revoke form carries. */
  csrf: string;
  /** Set after a revoke: a confirmation that needs no server-side flash state. */
  revoked: boolean;
  signOutUrl: string;
}

const DATE = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

const when = (iso: string) => html`<time datetime="${iso}">${DATE.format(new Date(iso))} UTC</time>`;

const revokeAction = (grantId: string) => `/account/grants/${encodeURIComponent(grantId)}/revoke`;

function appItem(app: GrantView, csrf: string) {
  return html`<li>
  <h3>${app.client_name}</h3>
  <p class="muted">${app.scopes.length ? app.scopes.map((scope) => html`<code>${scope}</code> `) : 'No scopes'}</p>
  <p class="muted">Authorized ${when(app.created_at)} · Last used ${app.last_used_at ? when(app.last_used_at) : 'never'}</p>
  <form method="post" action="${revokeAction(app.grant_id)}">
    <input type="hidden" name="csrf" value="${csrf}">
    <button type="submit" class="danger" aria-label="Revoke access for ${app.client_name}">Revoke</button>
  </form>
</li>`;
}

/** The account page: one form per app (works without JavaScript), and the linked accounts (empty for now). */
export function accountPage(view: AccountPageView): string {
  return layout(
    'Your account',
    html`<h1>Your account</h1>
<p class="muted">Signed in as <strong>${view.email}</strong> · <a href="${view.signOutUrl}">Sign out</a></p>
${view.revoked ? html`<p class="notice" role="status">Access removed. That app can no longer use your account.</p>` : ''}
<section aria-labelledby="apps-heading">
  <h2 id="apps-heading">Apps with access</h2>
  ${view.apps.length
    ? html`<ul class="apps">${view.apps.map((app) => appItem(app, view.csrf))}</ul>`
    : html`<p class="muted">No apps have access to your account.</p>`}
</section>
<section aria-labelledby="linked-heading">
  <h2 id="linked-heading">Linked accounts</h2>
  <p class="muted">No linked accounts yet. Accounts you connect (Google, Microsoft, Notion, …) will appear here.</p>
</section>`,
  );
}
