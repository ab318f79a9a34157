import { existsSync } from 'node:fs';

const CHROMIUM_PATH = '/usr/bin/chromium';
const DOVECOT_PATH = '/usr/sbin/dovecot';

/**
 * Which real services this run has. Tests read the environment here (and only here): with DATABASE_URL and
 * REDIS_URL set, suites run against real Postgres and Redis; without them, against embedded PGlite.
 * TEST_REQUIRE_SERVICES=1 (CI's second run) turns every "skipped for lack of a service" into a failure.
 */
export const services = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  /** Debian's chromium, for the real-browser tests (`.ci/run` installs it with apt). */
  chromiumPath: existsSync(CHROMIUM_PATH) ? CHROMIUM_PATH : undefined,
  /** Debian's Dovecot (and openssl for its test certificate), for the live mailbox checks. */
  dovecotPath: existsSync(DOVECOT_PATH) && existsSync('/usr/bin/openssl') ? DOVECOT_PATH : undefined,
  requireAll: process.env.TEST_REQUIRE_SERVICES === '1',
};

export const TEST_ENCRYPTION_KEYS = `test1:${Buffer.alloc(32, 7).toString('base64')},test0:${Buffer.alloc(32, 3).toString('base64')}`;

const NEEDS = {
  redis: { present: () => services.redisUrl, what: 'REDIS_URL' },
  postgres: { present: () => services.databaseUrl, what: 'DATABASE_URL' },
  chromium: { present: () => services.chromiumPath, what: `${CHROMIUM_PATH} (apt-get install chromium)` },
  dovecot: { present: () => services.dovecotPath, what: `${DOVECOT_PATH} (apt-get install dovecot-imapd dovecot-submissiond)` },
};

/**
 * `describe` when the service is there; otherwise a skipped block with a one-line reason (or a failure when
 * the run requires every service).
 */
export function describeWith(service: keyof typeof NEEDS, name: string, body: () => void): void {
  if (NEEDS[service].present()) {
    describe(name, body);
    return;
  }
  const reason = `${name}: skipped, needs ${NEEDS[service].what}`;
  if (services.requireAll) {
    describe(name, () => {
      test('required service is present', () => {
        throw new Error(`${reason} (TEST_REQUIRE_SERVICES=1)`);
      });
    });
    return;
  }
  process.stdout.write(`${reason}\n`);
  describe.skip(name, body);
}
