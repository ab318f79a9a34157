import type Router from '@koa/router';
import { createRouter } from '../../http/router.js';
import type { Context } from 'koa';
import { z } from 'zod';
import { originOf } from '../../audit/origin.js';
import { HttpError, describeError } from '../../http/errors.js';
import { parseBody, parseQuery, readJsonBody } from '../../http/validate.js';
import { toConnectionView } from '../connection-view.js';
import { purposeParam } from '../mailboxes.js';
import type { AlexaAcceptGrant } from './accept-grant.js';
import { acceptGrantBody, acceptGrantFailed, acceptGrantResponse } from './directive.js';

export const acceptGrantQuery = z.object({ purpose: purposeParam.default('default') });

/**
 * `POST /integrations/amazon-lwa/accept-grant`: the skill backend forwards Alexa's AcceptGrant directive. No
 * bearer header: the directive's grantee token is the authentication. 200 carries the `AcceptGrant.Response`
 * event to return to Alexa; every failure is the usual `{ error, error_description }` plus the `ErrorResponse`
 * event (`ACCEPT_GRANT_FAILED`), so the skill can pass either straight through. Mount before `/:provider` routes.
 */
export function alexaRoutes(acceptGrant: AlexaAcceptGrant): Router {
  const router = createRouter();
  router.post('/integrations/amazon-lwa/accept-grant', async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await readJsonBody(ctx); // inside the try: a body that is not JSON gets the Alexa error shape too
      const { purpose } = parseQuery(ctx, acceptGrantQuery);
      const directive = parseBody(ctx, acceptGrantBody);
      const connection = await acceptGrant(directive, purpose, originOf(ctx));
      ctx.body = { ...acceptGrantResponse(), connection: toConnectionView(connection) };
    } catch (thrown) {
      const { status, error, description, headers } = describeError(thrown);
      if (status >= 500 && !(thrown instanceof HttpError)) throw thrown; // store outages: the shared error boundary
      ctx.status = status;
      ctx.set(headers);
      ctx.body = { error, error_description: description, ...acceptGrantFailed(description) };
    }
  });
  return router;
}
