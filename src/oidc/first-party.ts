import { isFirstParty } from './client-metadata.js';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';

/** Scopes no grant may carry without an explicit decision (CONTRACT.md, Scopes: `admin` only via client_credentials). */
const NEVER_IMPLIED = new Set(['admin']);


/**
 * Clients with metadata `first_party: true` (our own apps, such as the account page) get no consent page: their
 * grant covers the OpenID scopes and claims they ask for, within their `scope` metadata. Third-party clients
 * keep the default behaviour (the grant the user consented to, or none, so the consent prompt shows).
 * https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#loadexistinggrant
 */
export const loadExistingGrant: Configuration['loadExistingGrant'] = async (ctx: KoaContextWithOIDC) => {
  const { oidc } = ctx;
  const client = oidc.client!;
  const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(client.clientId);
  const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!isFirstParty(client) || !oidc.session?.accountId) return existing;

  const allowed = new Set(String(client.scope ?? '').split(' '));
  const implied = [...oidc.requestParamOIDCScopes].filter((scope) => allowed.has(scope) && !NEVER_IMPLIED.has(scope));
  const grant = existing ?? new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: client.clientId });
  grant.addOIDCScope(implied.join(' '));
  if (oidc.requestParamClaims.size) grant.addOIDCClaims([...oidc.requestParamClaims]);
  await grant.save();
  return grant;
};
