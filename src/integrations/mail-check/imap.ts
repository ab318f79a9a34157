import { couldNotConnect, describeMailError } from './errors.js';
import { dialHost, tlsOptions, withDeadline, type Attempt, type MailCheckOptions, type MailCredential, type MailEndpoint } from './endpoint.js';

export interface ImapOutcome {
  ok: boolean;
  error?: string;
  /** Only when IDLE was asked for: whether the server entered IDLE on INBOX (and left it on DONE). */
  idle?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A live IMAP login (LOGIN / AUTHENTICATE PLAIN with a password, AUTHENTICATE XOAUTH2 with a token) and, with
 * `idle`, INBOX opened read-only and one IDLE started and stopped; then LOGOUT.
 */
export async function checkImap(endpoint: MailEndpoint, credential: MailCredential, idle: boolean, options: MailCheckOptions): Promise<Attempt<ImapOutcome>> {
  // Loaded on the first check, not at start: a mail client is megabytes of resident code few deployments use.
  const { ImapFlow } = await import('imapflow');
  const client = new ImapFlow({
    host: dialHost(endpoint),
    port: endpoint.port,
    secure: endpoint.security === 'tls',
    // starttls: the upgrade is required (no plaintext fallback); none: never attempted.
    doSTARTTLS: endpoint.security === 'starttls' ? true : endpoint.security === 'none' ? false : undefined,
    tls: tlsOptions(endpoint, options),
    auth: credential.accessToken !== undefined ? { user: credential.user, accessToken: credential.accessToken } : { user: credential.user, pass: credential.password },
    logger: false, // its debug lines would carry server responses; nothing of a login is logged
    disableAutoIdle: true,
    disableCompression: true,
    connectionTimeout: options.connectTimeoutMs ?? options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  // A socket error after the check settled must not become an unhandled 'error' event.
  client.on('error', () => {});
  const secrets = [credential.password ?? credential.accessToken];

  const run = async (): Promise<ImapOutcome> => {
    await client.connect(); // connect, TLS, authenticate
    if (!idle) return { ok: true };
    if (!client.capabilities.has('IDLE')) return { ok: false, error: 'the server does not support IDLE', idle: false };
    await client.mailboxOpen('INBOX', { readOnly: true });
    let settled = false;
    // Resolves when IDLE ends: `false` if the server refused it.
    const idling = client.idle().finally(() => {
      settled = true;
    });
    idling.catch(() => {}); // awaited below; a teardown after the deadline must not leave it unhandled
    while (!client.idling && !settled) await sleep(5);
    // NOOP breaks IDLE: imapflow sends DONE once the server acknowledged IDLE with "+", then the tagged OK ends it.
    if (!settled) await client.noop();
    const ended = await idling;
    return ended === false ? { ok: false, error: 'the server refused IDLE', idle: false } : { ok: true, idle: true };
  };

  try {
    const outcome = await withDeadline(run(), options.timeoutMs, () => client.close());
    // LOGOUT is courtesy: the verdict is in, so a slow answer only gets a short wait.
    await withDeadline(client.logout(), Math.min(options.timeoutMs, 2000), () => client.close()).catch(() => {});
    return { outcome, unreachable: false };
  } catch (error) {
    return { outcome: { ok: false, error: describeMailError(error, secrets), ...(idle ? { idle: false } : {}) }, unreachable: couldNotConnect(error) };
  } finally {
    client.close();
  }
}
