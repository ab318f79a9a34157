import type Router from '@koa/router';
import { createRouter } from '../http/router.js';
import type Provider from 'oidc-provider';
import type { UserAdminService } from '../accounts/admin-service.js';
import type { AuditLog } from '../audit/writer.js';
import type { ClientAdminService } from '../clients/admin-service.js';
import { bootstrapAdminClientId } from '../clients/bootstrap-admin.js';
import { builtInClients } from '../clients/built-in.js';
import type { Config } from '../config.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { Database } from '../db/knex.js';
import { requireBearer, type Principal, type TokenResolver } from '../http/bearer-auth.js';
import { limitRequests } from '../http/rate-limit.js';
import type { RateLimits } from '../http/rate-limiters.js';
import type { Queries } from '../queries/index.js';
import { webhookQueries } from '../queries/webhooks.js';
import { auditRoutes } from './audit.js';
import { clientRoutes } from './clients.js';
import { initialAccessTokenRoutes } from './initial-access-tokens.js';
import { resourceRoutes } from './resources.js';
import { userRoutes } from './users.js';
import { webhookRoutes } from './webhooks.js';
import type { OutboundPolicy } from '../net/outbound-policy.js';
import { workspaceRoutes } from './workspaces.js';

export interface AdminDependencies {
  resolve: TokenResolver;
  provider: Provider;
  queries: Queries;
  audit: AuditLog;
  clientAdmin: ClientAdminService;
  userAdmin: UserAdminService;
  /** Seals webhook signing secrets. */
  keyring: KeyRing;
  /** For the webhook subscriptions' queries (src/queries/webhooks.ts). */
  database: Pick<Database, 'db'>;
  /** `adminPerClient`: requests per admin client (all its tokens together); absent: no limit. */
  rateLimits?: Pick<RateLimits, 'adminPerClient'>;
  /** Where webhook receivers may be (a special-use IP literal is refused at creation). */
  outbound: OutboundPolicy;
  /** Which client is the bootstrap admin (built in: not changeable here, src/clients/built-in.ts). */
  config: Pick<Config, 'bootstrapAdmin'>;
}

/** `/admin/*`: a bearer access token of this server with scope `admin` (client_credentials). */
export function adminRoutes(deps: AdminDependencies): Router {
  const router = createRouter({ prefix: '/admin' });
  router.use(requireBearer(deps.resolve, { scope: 'admin', realm: 'admin', kinds: ['client'] }));
  router.use(limitRequests(deps.rateLimits?.adminPerClient, (ctx) => (ctx.state.principal as Principal).clientId, 'too many admin API requests from this client; retry after Retry-After seconds'));
  router.use((ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    return next();
  });
  for (const child of [
    clientRoutes(deps.clientAdmin, builtInClients({ bootstrapAdminClientId: bootstrapAdminClientId(deps.config.bootstrapAdmin) })),
    userRoutes(deps.userAdmin),
    workspaceRoutes(deps.queries.workspaces, deps.audit),
    webhookRoutes({ webhooks: webhookQueries(deps.database.db), workspaces: deps.queries.workspaces, keyring: deps.keyring, audit: deps.audit, outbound: deps.outbound }),
    resourceRoutes(deps.queries.resourceServers, deps.queries.workspaces, deps.audit, deps.provider.issuer),
    initialAccessTokenRoutes(deps.provider, deps.audit),
    auditRoutes(deps.queries.audit),
  ]) {
    router.use(child.routes(), child.allowedMethods({ throw: true }));
  }
  return router;
}
