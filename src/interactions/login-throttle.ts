import { sha256 } from '../crypto/secrets.js';
import type { Block, RateLimits } from '../http/rate-limiters.js';

export interface LoginBlock extends Block {
  /** `account`: this login name from this IP is locked; `ip`: every login from this IP waits. */
  scope: 'account' | 'ip';
}

/**
 * Failed-login throttling, rate-limiter-flexible's "login endpoint protection": failures in a row per (login name,
 * IP) lock that pair, failures per IP per day lock the IP; a success resets the pair. Counted by the name as
 * submitted (trimmed, lowercased), so a lock looks the same whether or not the account exists. The name is
 * hashed into the key: no email address lands in Redis.
 * https://github.com/animir/node-rate-limiter-flexible/wiki/Overall-example#login-endpoint-protection
 */
export function loginThrottle({ loginPerAccount, loginPerIp }: Pick<RateLimits, 'loginPerAccount' | 'loginPerIp'>) {
  const pair = (login: string, ip: string) => `${sha256(login.trim().toLowerCase())}:${ip}`;
  const first = (byIp: Block | undefined, byAccount: Block | undefined): LoginBlock | undefined =>
    byIp ? { ...byIp, scope: 'ip' } : byAccount ? { ...byAccount, scope: 'account' } : undefined;

  return {
    /** Before the password is checked (a locked login costs no password hash). */
    async check(login: string, ip: string): Promise<LoginBlock | undefined> {
      const [byIp, byAccount] = await Promise.all([loginPerIp?.peek(ip), loginPerAccount?.peek(pair(login, ip))]);
      return first(byIp, byAccount);
    },
    /** After a wrong password: a block when this failure reached a limit. */
    async failed(login: string, ip: string): Promise<LoginBlock | undefined> {
      const [byIp, byAccount] = await Promise.all([loginPerIp?.hit(ip), loginPerAccount?.hit(pair(login, ip))]);
      return first(byIp, byAccount);
    },
    async succeeded(login: string, ip: string): Promise<void> {
      await loginPerAccount?.reset(pair(login, ip));
    },
  };
}

export type LoginThrottle = ReturnType<typeof loginThrottle>;
