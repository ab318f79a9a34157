import { existsSync, readdirSync } from 'node:fs';

const CHROMIUM_PATH = '/usr/bin/chromium';
const DOVECOT_PATH = '/usr/sbin/dovecot';
const REDIS_SERVER_PATH = '/usr/bin/redis-server';

/** Debian's Postgres server binaries (`initdb`, `postgres`), newest major first, for a private Postgres. */
function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return majors.map((v) => `${root}/${v}/bin`).find((dir) => existsSync(`${dir}/initdb`) && existsSync(`${dir}/postgres`));
}

/**
 * Which real services this run has. Tests read the environment here (and only here): with DATABASE_URL and
 * REDIS_URL set, suites run against real Postgres and Redis; without them, against embedded PGlite.
 * TEST_REQUIRE_SERVICES=1 (CI's second run) turns every "skipped for lack of a service" into a failure.
 */
export const services = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  /** A comma list of `redis://` nodes of a Redis Cluster (`.ci/redis-cluster.sh` creates one on loopback). */
  redisClusterUrl: process.env.REDIS_CLUSTER_URL || undefined,
  /** Where `initdb` and `postgres` live, for suites that start (and stop) a private Postgres of their own. */
  postgresBinDir: postgresBinDir(),
  /** `redis-server`, for suites that start (and stop) a private Redis of their own. */
  redisServerPath: existsSync(REDIS_SERVER_PATH) ? REDIS_SERVER_PATH : undefined,
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
  'redis-cluster': { present: () => services.redisClusterUrl, what: 'REDIS_CLUSTER_URL (.ci/redis-cluster.sh creates one)' },
  initdb: { present: () => services.postgresBinDir, what: '/usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)' },
  'redis-server': { present: () => services.redisServerPath, what: `${REDIS_SERVER_PATH} (apt-get install redis-server)` },
};

type Need = keyof typeof NEEDS;

/**
 * `describe` when the service (or every one of several) is there; otherwise a skipped block with a one-line
 * reason (or a failure when the run requires every service).
 */
export function describeWith(needs: Need | Need[], name: string, body: () => void): void {
  const missing = [needs].flat().filter((need) => !NEEDS[need].present());
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `${name}: skipped, needs ${missing.map((need) => NEEDS[need].what).join(' and ')}`;
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
