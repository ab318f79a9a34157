/** Hosts where plain http is acceptable (CONTRACT.md: `http` only for loopback hosts). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `hostname` as `URL` reports it (IPv6 in brackets). */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_HOSTS.has(hostname);
