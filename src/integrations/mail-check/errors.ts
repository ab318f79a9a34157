/**
 * Mail client errors reduced to a short, storable line. imapflow and nodemailer errors can carry the server's
 * response and the command that failed (an AUTH line holds the credential, base64-encoded), so only a fixed
 * phrase, the error code and the server's response code are kept — never the raw objects — and any trace of
 * a secret is scrubbed as a backstop.
 */

interface MailClientError {
  code?: string;
  message?: string;
  /** imapflow */
  authenticationFailed?: boolean;
  serverResponseCode?: string;
  /** nodemailer */
  responseCode?: number;
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ESOCKETTIMEDOUT']);
const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EDNS: 'host name lookup failed',
  NoConnection: 'connection closed by the server',
  EConnectionClosed: 'connection closed by the server',
  ClosedAfterConnectText: 'connection closed by the server',
  ClosedAfterConnectTLS: 'connection closed by the server',
  ECONNECTION: 'connection closed by the server',
};
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ETLS$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(GET|VERIFY)_)/;
const SAFE_CODE = /^[A-Za-z0-9_.-]{1,40}$/;

/** The Node / library error code under a wrapper (nodemailer puts `connect ECONNREFUSED …` in ESOCKET's message). */
function innerCode(error: MailClientError): string | undefined {
  const fromMessage = /\b(E[A-Z]{4,}|ERR_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)\b/.exec(error.message ?? '')?.[1];
  const cause = (error as { cause?: MailClientError }).cause?.code;
  const original = (error as { originalCode?: string }).originalCode;
  if (error.code && error.code !== 'ESOCKET' && error.code !== 'ECONNECTION') return error.code;
  return original ?? cause ?? fromMessage ?? error.code;
}

/** One line for `imap.error` / `smtp.error`, e.g. `authentication failed (AUTHENTICATIONFAILED)`, `connection refused`. */
export function describeMailError(thrown: unknown, secrets: string[] = []): string {
  const error = (thrown ?? {}) as MailClientError;
  const code = innerCode(error);
  let line: string;
  if (error.authenticationFailed || error.code === 'EAUTH') {
    const detail = error.serverResponseCode ?? (error.responseCode ? String(error.responseCode) : undefined);
    line = `authentication failed${detail && SAFE_CODE.test(detail) ? ` (${detail})` : ''}`;
  } else if (code && TIMEOUT_CODES.has(code)) {
    line = `timed out (${code})`;
  } else if (code && NETWORK[code]) {
    line = `${NETWORK[code]} (${code})`;
  } else if (code && TLS_CODE.test(code)) {
    line = `TLS failed (${code})`;
  } else if (error.code === 'EPROTOCOL' || error.code === 'InvalidResponse' || code?.startsWith('ParserError')) {
    line = `unexpected server response (${code})`;
  } else {
    // Unknown: the library's own message, one short line (no server text can carry a credential back, but scrub anyway).
    const message = (error.message ?? String(thrown)).replace(/[\r\n\t]+/g, ' ').slice(0, 160);
    line = code && SAFE_CODE.test(code) ? `${message} (${code})` : message;
  }
  return scrub(line, secrets);
}

/**
 * Whether the connection itself could not be made, so another address of the host may answer: the connect(2)
 * call failed (Node sets `syscall: 'connect'` on ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ETIMEDOUT…;
 * nodemailer keeps the object, wrapped as ESOCKET) or the library's connect phase timed out (imapflow
 * `CONNECT_TIMEOUT`, nodemailer `timeoutType: 'CONNECT_TIMEOUT'`). With implicit TLS that phase includes the
 * handshake, so a stalled handshake counts too: nothing was sent yet, so the next address costs only time.
 * Everything else (TLS, protocol, login, a greeting or reply timeout, our own deadline) is about the server.
 */
export function couldNotConnect(thrown: unknown): boolean {
  const error = (thrown ?? {}) as { syscall?: string; code?: string; timeoutType?: string };
  return error.syscall === 'connect' || error.code === 'CONNECT_TIMEOUT' || error.timeoutType === 'CONNECT_TIMEOUT';
}

/** Removes each secret, and its base64 forms inside SASL lines, from a text. */
export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets.filter((value) => value.length >= 4)) {
    for (const form of [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')]) {
      out = out.split(form).join('[redacted]');
    }
  }
  // Any long base64 run (a whole AUTH PLAIN / XOAUTH2 payload) goes too.
  return out.replace(/[A-Za-z0-9+/=_-]{60,}/g, '[redacted]');
}
