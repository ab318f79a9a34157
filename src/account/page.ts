import Router from '@koa/router';
import type { AppContext } from '../context.js';

/** The account page at /account (browser session): "Apps with access" and "Linked accounts". */
export function accountPageRoutes(_context: AppContext): Router {
  const router = new Router();
  return router;
}
