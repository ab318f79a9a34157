import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { services } from './services.js';

/**
 * A private, real Dovecot (2.3, Debian's `dovecot-imapd` + `dovecot-submissiond`) for one test run: its config,
 * runtime dirs, log, TLS certificate and mail in a temp dir, listening on free loopback ports only.
 *
 * - IMAP: plaintext with STARTTLS on `ports.imap`, implicit TLS on `ports.imaps`.
 * - SMTP submission (AUTH only matters here): STARTTLS on `ports.submission`, implicit TLS on `ports.submissions`.
 *   Dovecot's submission service needs a relay MTA; it points at a loopback port nobody listens on, which is
 *   fine as long as nothing is sent.
 * - Two password databases: a `passwd-file` (PLAIN/LOGIN) with one user, and `oauth2` (XOAUTH2/OAUTHBEARER)
 *   that validates bearer tokens by RFC 7662 introspection (POST, Basic client auth) at the given endpoint —
 *   the login name must equal the introspection response's `sub`.
 * - TLS: a self-signed certificate for `localhost` / `127.0.0.1`, generated with openssl; `ca` is its PEM, to
 *   trust it (and only it) in clients.
 *
 * Runs `dovecot -F -c <conf>` as a child (through a wrapper that stops it when this process dies); as root the processes drop to the package's `dovecot` / `dovenull`
 * users, otherwise everything runs as the current user.
 */

export const DOVECOT_BIN = services.dovecotPath ?? '/usr/sbin/dovecot';

/** Whether this machine can run the private Dovecot (`apt-get install dovecot-imapd dovecot-submissiond`). */
export const dovecotAvailable = (): boolean => services.dovecotPath !== undefined;

export interface DovecotOptions {
  /** RFC 7662 introspection endpoint and the client credentials to call it with (enables the oauth2 passdb). */
  introspection?: { url: string; clientId: string; clientSecret: string };
  /** The passwd-file user (default a random one). */
  user?: { name: string; password: string };
}

export interface Dovecot {
  host: '127.0.0.1';
  ports: { imap: number; imaps: number; submission: number; submissions: number };
  /** PEM of the server's self-signed certificate (it is its own CA). */
  ca: string;
  /** The passwd-file user. */
  user: { name: string; password: string };
  /** The Dovecot log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A loopback port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once `port` answers with a line starting with `expected` (a server greeting). */
async function waitForGreeting(port: number, expected: string, deadline: number, child: ChildProcess): Promise<void> {
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with code ${child.exitCode}`);
    const greeting = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let data = '';
      const done = (value: string) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1000, () => done(''));
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
        if (data.includes('\n')) done(data);
      });
      socket.on('error', (error) => {
        lastError = error.message;
        done('');
      });
    });
    if (greeting.startsWith(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`dovecot did not answer on port ${port} in time (${lastError || 'no greeting'})`);
}

const userName = (): string => os.userInfo().username;

export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  if (!dovecotAvailable()) throw new Error(`${DOVECOT_BIN} is missing (apt-get install dovecot-imapd dovecot-submissiond)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dovecot-test-'));
  // The unprivileged dovecot processes (auth, imap) read the passwd file and the oauth2 settings and write the mail.
  chmodSync(dir, 0o755);
  const root = process.getuid?.() === 0;
  const internalUser = root ? 'dovecot' : userName();
  const internalGroup = root ? 'dovecot' : execFileSync('id', ['-gn']).toString().trim();
  const loginUser = root ? 'dovenull' : userName();
  const mailUser = root ? 'dovecot' : userName();
  const user = options.user ?? { name: `mailbox-${randomBytes(3).toString('hex')}@mail.test`, password: randomBytes(12).toString('base64url') };

  const [imap, imaps, submission, submissions, relay] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const file = (name: string) => path.join(dir, name);
  for (const sub of ['run', 'state', 'mail']) mkdirSync(file(sub), { mode: 0o755 });
  if (root) {
    const id = (flag: string) => Number(execFileSync('id', [flag, mailUser]).toString().trim());
    const [uid, gid] = [id('-u'), id('-g')];
    chownSync(file('mail'), uid, gid);
  }

  // A self-signed certificate for the loopback names (clients trust exactly this PEM).
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', file('key.pem'), '-out', file('cert.pem')],
    { stdio: 'ignore' },
  );
  chmodSync(file('key.pem'), 0o600);

  writeFileSync(file('nodelay'), '127.0.0.1:::::::nodelay=yes\n', { mode: 0o644 });
  writeFileSync(file('users'), `${user.name}:{PLAIN}${user.password}::::::\n`, { mode: 0o644 });
  if (options.introspection) {
    const { url, clientId, clientSecret } = options.introspection;
    const target = new URL(url);
    target.username = encodeURIComponent(clientId);
    target.password = encodeURIComponent(clientSecret);
    writeFileSync(
      file('oauth2.conf'),
      [
        // RFC 7662: POST token=<token>, client authenticated with Basic (the URL's user info).
        `introspection_mode = post`,
        `introspection_url = ${target.toString()}`,
        // No tokeninfo step: introspection alone decides.
        `tokeninfo_url =`,
        `force_introspection = yes`,
        // The login name must match the token's subject (oidc-provider's introspection carries `sub`, not `email`).
        `username_attribute = sub`,
        `active_attribute = active`,
        `active_value = true`,
        `timeout_msecs = 5000`,
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
  }

  const conf = [
    `# private test instance, generated by test/support/dovecot.ts`,
    `instance_name = dovecot-test-${path.basename(dir)}`,
    `protocols = imap submission`,
    `listen = 127.0.0.1`,
    `base_dir = ${file('run')}`,
    `state_dir = ${file('state')}`,
    `log_path = ${file('dovecot.log')}`,
    `info_log_path = ${file('dovecot.log')}`,
    `debug_log_path = ${file('dovecot.log')}`,
    `default_internal_user = ${internalUser}`,
    `default_internal_group = ${internalGroup}`,
    `default_login_user = ${loginUser}`,
    `first_valid_uid = 1`,
    `hostname = localhost`,
    `postmaster_address = postmaster@localhost`,
    `ssl = yes`,
    `ssl_cert = <${file('cert.pem')}`,
    `ssl_key = <${file('key.pem')}`,
    `ssl_min_protocol = TLSv1.2`,
    // Plaintext AUTH only after TLS, except on loopback (which Dovecot counts as secured).
    `disable_plaintext_auth = yes`,
    `auth_mechanisms = plain login${options.introspection ? ' xoauth2 oauthbearer' : ''}`,
    `auth_verbose = yes`,
    `auth_failure_delay = 0`,
    `mail_location = maildir:${file('mail')}/%n`,
    `submission_relay_host = 127.0.0.1`,
    `submission_relay_port = ${relay}`,
    `submission_relay_trusted = no`,
    `submission_relay_ssl = no`,
    // Dovecot 2.3 delays answers after failed logins per client IP (auth penalty, up to 15 s), loopback included:
    // tests fail logins on purpose, so loopback clients get `nodelay` (the upgrade notes' recipe).
    `passdb {`,
    `  driver = passwd-file`,
    `  args = username_format=%{rip} ${file('nodelay')}`,
    `  default_fields = noauthenticate=y`,
    `}`,
    `passdb {`,
    `  driver = passwd-file`,
    `  mechanisms = plain login`,
    `  args = scheme=PLAIN username_format=%u ${file('users')}`,
    `}`,
    ...(options.introspection ? [`passdb {`, `  driver = oauth2`, `  mechanisms = xoauth2 oauthbearer`, `  args = ${file('oauth2.conf')}`, `}`] : []),
    `userdb {`,
    `  driver = static`,
    `  args = uid=${mailUser} gid=${internalGroup} home=${file('mail')}/%n`,
    `}`,
    // Rootless (not root): no chroot, which needs root (Dovecot's HowTo/Rootless).
    ...(root ? [] : [`service anvil {`, `  chroot =`, `}`]),
    `service imap-login {`,
    ...(root ? [] : [`  chroot =`]),
    `  inet_listener imap {`,
    `    address = 127.0.0.1`,
    `    port = ${imap}`,
    `  }`,
    `  inet_listener imaps {`,
    `    address = 127.0.0.1`,
    `    port = ${imaps}`,
    `    ssl = yes`,
    `  }`,
    `}`,
    `service submission-login {`,
    ...(root ? [] : [`  chroot =`]),
    `  inet_listener submission {`,
    `    address = 127.0.0.1`,
    `    port = ${submission}`,
    `  }`,
    `  inet_listener submissions {`,
    `    address = 127.0.0.1`,
    `    port = ${submissions}`,
    `    ssl = yes`,
    `  }`,
    `}`,
    // No stats/doveadm/lmtp sockets outside base_dir, nothing else listening on inet.
    `service stats {`,
    `  inet_listener http {`,
    `    port = 0`,
    `  }`,
    `}`,
    '',
  ].join('\n');
  writeFileSync(file('dovecot.conf'), conf);

  const log = () => (existsSync(file('dovecot.log')) ? readFileSync(file('dovecot.log'), 'utf8') : '');
  // A wrong setting is reported here with its name, before anything starts.
  try {
    execFileSync('/usr/bin/doveconf', ['-c', file('dovecot.conf'), '-n'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`doveconf rejected the test config: ${(error as { stderr?: Buffer }).stderr?.toString() ?? String(error)}`);
  }

  // Dovecot runs under a tiny sh wrapper that holds our end of a pipe: when this process goes away in any way
  // (a killed jest worker included) the pipe closes and the wrapper stops Dovecot, so no instance is left behind.
  const wrapper = [
    'exec 3<&0',
    '"$0" -F -c "$1" </dev/null &',
    'pid=$!',
    '(read _ <&3; kill -TERM "$pid" 2>/dev/null) &',
    'wait "$pid"',
  ].join('\n');
  let output = '';
  const child = spawn('/bin/sh', ['-c', wrapper, DOVECOT_BIN, file('dovecot.conf')], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  /** Last resort: the master's own pid file (base_dir/master.pid). */
  const killMaster = () => {
    try {
      process.kill(Number(readFileSync(file('run/master.pid'), 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin!.end(); // the wrapper's reader sends SIGTERM to Dovecot; the wrapper exits with it
      const timer = setTimeout(() => {
        killMaster();
        child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 15_000;
    await waitForGreeting(imap, '* OK', deadline, child);
    await waitForGreeting(submission, '220', deadline, child);
  } catch (error) {
    const details = `${output}\n${log()}`.trim().split('\n').slice(-20).join('\n');
    await stop();
    throw new Error(`${(error as Error).message}\n${details}`);
  }

  return {
    host: '127.0.0.1',
    ports: { imap, imaps, submission, submissions },
    ca: readFileSync(file('cert.pem'), 'utf8'),
    user,
    log,
    stop,
  };
}
