import type http from 'node:http';
import type Provider from 'oidc-provider';
import { hashPassword, verifyPassword } from '../../src/crypto/secrets.js';

/**
 * The bare library's login and consent, as small as the flow allows and with the same steps as ours:
 * GET /interaction/:uid (login form) → POST …/login → GET /interaction/:uid (consent form) → POST …/confirm.
 * One in-memory user. `checkPassword` verifies the password against a scrypt hash with our parameters (so
 * flows/s compares the servers, not a deliberately slow hash against none); off, any password signs in.
 */
export async function bareInteractions(user: { id: string; email: string; password: string }, checkPassword: boolean) {
  const passwordHash = await hashPassword(user.password);
  const page = (action: string, fields: string) =>
    `<!doctype html><html><body><form method="post" action="${action}">${fields}<button type="submit">Continue</button></form></body></html>`;

  return (provider: Provider, next: http.RequestListener): http.RequestListener =>
    (req, res) => {
      const match = /^\/interaction\/([\w-]+)(\/login|\/confirm)?$/.exec(req.url ?? '');
      if (!match) return next(req, res);
      handle(provider, req, res, match[2]).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String((error as Error).message));
      });
    };

  async function handle(provider: Provider, req: http.IncomingMessage, res: http.ServerResponse, step: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const finish = async (result: Parameters<Provider['interactionResult']>[2], merge: boolean) => {
      const location = await provider.interactionResult(req, res, result, { mergeWithLastSubmission: merge });
      res.writeHead(303, { location }).end();
    };
    if (req.method === 'GET' && !step) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        details.prompt.name === 'login'
          ? page(`/interaction/${details.uid}/login`, '<input type="email" name="email"><input type="password" name="password">')
          : page(`/interaction/${details.uid}/confirm`, ''),
      );
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    if (step === '/login') {
      const ok = form.get('email') === user.email && (!checkPassword || (await verifyPassword(form.get('password') ?? '', passwordHash)));
      if (!ok) {
        res.writeHead(401).end();
        return;
      }
      return finish({ login: { accountId: user.id } }, false);
    }
    const grant = new provider.Grant({ accountId: user.id, clientId: String(details.params.client_id) });
    const missing = details.prompt.details as { missingOIDCScope?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    return finish({ consent: { grantId: await grant.save() } }, true);
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
