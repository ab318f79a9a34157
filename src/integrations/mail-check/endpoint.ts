import { isIP } from 'node:net';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import type { MailSecurity } from '../../queries/mailboxes.js';

/** One side of a mailbox setting: where to connect and how (`tls` implicit, `starttls` upgrade, `none` loopback only). */
export interface MailEndpoint {
  host: string;
  port: number;
  security: MailSecurity;
  /**
   * The IP address to dial: `host` resolved once and checked by the outbound policy (src/net/outbound-policy.ts), so
   * the client resolves nothing itself. `host` still names the server for SNI and the certificate check.
   */
  address?: string;
}

/** Who logs in: a stored password (LOGIN / PLAIN) or an OAuth access token (XOAUTH2). */
export type MailCredential = { user: string; password: string; accessToken?: undefined } | { user: string; accessToken: string; password?: undefined };

export interface MailCheckOptions {
  /** Each network step (connect, greeting, TLS, every reply) and the whole side are bounded by this. */
  timeoutMs: number;
  /**
   * The connect phase of one address (TCP, plus the handshake with implicit TLS; nodemailer's also covers the
   * greeting and STARTTLS), when shorter than `timeoutMs`: the service's share of its budget (service.ts).
   */
  connectTimeoutMs?: number;
  /** CA certificates trusted in addition to Node's bundled ones (a private CA; tests). */
  extraCa?: string[];
}

/**
 * A side's outcome on one address, and whether the connection itself could not be made (errors.ts
 * `couldNotConnect`): only then may the next address of the host be tried.
 */
export interface Attempt<T> {
  outcome: T;
  unreachable: boolean;
}

/** `[::1]` as the mailbox setting writes an IPv6 literal → `::1` for the socket. */
export const socketHost = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** What the mail client connects to: the checked address when there is one. */
export const dialHost = (endpoint: MailEndpoint): string => endpoint.address ?? socketHost(endpoint.host);

/** Certificate checks always on (no `rejectUnauthorized: false`); SNI only for names, as RFC 6066 says. */
export function tlsOptions(endpoint: MailEndpoint, options: MailCheckOptions): ConnectionOptions {
  const host = socketHost(endpoint.host);
  return {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(isIP(host) ? {} : { servername: host }),
    ...(options.extraCa?.length ? { ca: [...rootCertificates, ...options.extraCa] } : {}),
  };
}

export class MailCheckTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** `work`, or a MailCheckTimeout after `ms` (then `abort` tears the connection down). */
export async function withDeadline<T>(work: Promise<T>, ms: number, abort: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort();
      reject(new MailCheckTimeout(ms));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {}); // a late rejection after the deadline is not unhandled
  }
}
