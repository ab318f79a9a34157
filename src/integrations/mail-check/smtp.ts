import { couldNotConnect, describeMailError } from './errors.js';
import { dialHost, tlsOptions, withDeadline, type Attempt, type MailCheckOptions, type MailCredential, type MailEndpoint } from './endpoint.js';

/** What nodemailer gets when it asks for a second token after the server refused the first one. */
const tokenRefused = () => Object.assign(new Error('the server refused the access token'), { code: 'EAUTH' });

export interface SmtpOutcome {
  ok: boolean;
  error?: string;
}

/**
 * A live SMTP AUTH (LOGIN / PLAIN with a password, XOAUTH2 with a token): connect, EHLO, TLS, AUTH, QUIT —
 * nodemailer's `verify()`, which sends no message.
 */
export async function checkSmtp(endpoint: MailEndpoint, credential: MailCredential, options: MailCheckOptions): Promise<Attempt<SmtpOutcome>> {
  // Loaded on the first check, not at start: a mail client is megabytes of resident code few deployments use.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: dialHost(endpoint),
    port: endpoint.port,
    secure: endpoint.security === 'tls',
    requireTLS: endpoint.security === 'starttls', // no plaintext fallback when STARTTLS is missing
    ignoreTLS: endpoint.security === 'none',
    tls: tlsOptions(endpoint, options),
    auth:
      credential.accessToken !== undefined
        ? // The vended token, once: nodemailer would otherwise retry AUTH with the same token after a refusal.
          { type: 'OAuth2', user: credential.user, provisionCallback: (_user: string, renew: boolean, done: (error: Error | null, token?: string) => void) => (renew ? done(tokenRefused()) : done(null, credential.accessToken)) }
        : { type: 'login', user: credential.user, pass: credential.password },
    connectionTimeout: options.connectTimeoutMs ?? options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    dnsTimeout: options.timeoutMs,
    logger: false,
    debug: false,
  });
  const secrets = [credential.password ?? credential.accessToken];
  try {
    await withDeadline(transport.verify(), options.timeoutMs, () => transport.close());
    return { outcome: { ok: true }, unreachable: false };
  } catch (error) {
    return { outcome: { ok: false, error: describeMailError(error, secrets) }, unreachable: couldNotConnect(error) };
  } finally {
    transport.close();
  }
}
