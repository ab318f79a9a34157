import { afterAll, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadProviderRegistry, ProviderRegistryError } from '../../src/integrations/registry/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'oauth-hub-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes a PROVIDERS_FILE into the temp dir and returns its path. */
function providersFile(yaml: string): string {
  const file = path.join(dir, `providers-${++files}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const GOOGLE_ENV = { GOOGLE_CLIENT_ID: 'gid', GOOGLE_CLIENT_SECRET: 'gsecret' };
const BUILTINS = ['google', 'google-calendar', 'gmail', 'youtube', 'microsoft', 'microsoft-calendar', 'notion', 'amazon-lwa', 'airbnb', 'oidc'];

describe('built-in provider registry (config/providers.yaml)', () => {
  const registry = loadProviderRegistry({ env: {} });

  test('lists every built-in provider, deep-frozen', () => {
    expect(Object.keys(registry)).toEqual(BUILTINS);
    expect(Object.isFrozen(registry)).toBe(true);
    expect(Object.isFrozen(registry.google!.scopes) && Object.isFrozen(registry.google!.identity.subject)).toBe(true);
    expect(() => (registry.google!.scopes as string[]).push('x')).toThrow(TypeError);
  });

  test('google: discovery, offline access with consent, body credentials, revocation', () => {
    expect(registry.google).toEqual({
      name: 'google',
      display_name: 'Google',
      issuer: 'https://accounts.google.com',
      authorization_url: undefined,
      token_url: undefined,
      userinfo_url: undefined,
      revocation_url: 'https://oauth2.googleapis.com/revoke',
      client_id: undefined,
      client_secret: undefined,
      scopes: ['openid', 'email', 'profile'],
      authorization_params: { access_type: 'offline', prompt: 'consent' },
      token_auth_method: 'client_secret_post',
      token_request_body: 'form',
      pkce: true,
      identity: { source: 'id_token', subject: ['sub'], email: ['email'] },
      rotates_refresh_tokens: false,
      configured: false,
      missing: ['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET'],
    });
  });

  test('google children inherit google and list their full scopes', () => {
    expect(registry.gmail).toMatchObject({
      issuer: 'https://accounts.google.com',
      scopes: ['openid', 'email', 'profile', 'https://mail.google.com/'],
      authorization_params: { access_type: 'offline', prompt: 'consent' },
      token_auth_method: 'client_secret_post',
      revocation_url: 'https://oauth2.googleapis.com/revoke',
      display_name: 'Gmail',
    });
    expect(registry['google-calendar']!.scopes).toContain('https://www.googleapis.com/auth/calendar');
    expect(registry.youtube!.scopes).toContain('https://www.googleapis.com/auth/youtube.readonly');
  });

  test('microsoft: tenant common by default, oid first, rotating refresh tokens, no revocation', () => {
    expect(registry.microsoft).toMatchObject({
      issuer: 'https://login.microsoftonline.com/common/v2.0',
      scopes: [
        'openid', 'email', 'profile', 'offline_access',
        'https://outlook.office.com/IMAP.AccessAsUser.All', 'https://outlook.office.com/SMTP.Send',
      ],
      identity: { source: 'id_token', subject: ['oid', 'sub'], email: ['email', 'preferred_username'] },
      rotates_refresh_tokens: true,
      token_auth_method: 'client_secret_post',
      missing: ['MICROSOFT_CLIENT_ID', 'MICROSOFT_CLIENT_SECRET'],
    });
    expect(registry.microsoft!.revocation_url).toBeUndefined();
    expect(registry['microsoft-calendar']).toMatchObject({
      issuer: 'https://login.microsoftonline.com/common/v2.0',
      userinfo_url: 'https://graph.microsoft.com/v1.0/me',
      scopes: expect.arrayContaining(['https://graph.microsoft.com/Calendars.ReadWrite', 'https://graph.microsoft.com/User.Read']),
      identity: { source: 'userinfo', subject: ['id'], email: ['mail', 'userPrincipalName'] },
      rotates_refresh_tokens: true,
    });
  });

  test('notion: explicit endpoints, Basic + JSON body, owner=user, no PKCE, identity from the token response', () => {
    expect(registry.notion).toMatchObject({
      issuer: undefined,
      authorization_url: 'https://api.notion.com/v1/oauth/authorize',
      token_url: 'https://api.notion.com/v1/oauth/token',
      revocation_url: 'https://api.notion.com/v1/oauth/revoke',
      scopes: [],
      authorization_params: { owner: 'user' },
      token_auth_method: 'client_secret_basic',
      token_request_body: 'json',
      pkce: false,
      identity: { source: 'token_response', subject: ['bot_id'], email: ['owner.user.person.email'] },
      rotates_refresh_tokens: true,
    });
  });

  test('amazon-lwa, airbnb and oidc', () => {
    expect(registry['amazon-lwa']).toMatchObject({
      authorization_url: 'https://www.amazon.com/ap/oa',
      token_url: 'https://api.amazon.com/auth/o2/token',
      userinfo_url: 'https://api.amazon.com/user/profile',
      scopes: ['profile'],
      identity: { source: 'userinfo', subject: ['user_id'], email: ['email'] },
      token_auth_method: 'client_secret_post',
    });
    expect(registry.airbnb!.identity).toEqual({ source: 'userinfo', subject: ['id', 'user.id'], email: ['email', 'user.email'] });
    expect(registry.oidc).toMatchObject({ scopes: ['openid', 'email', 'profile', 'offline_access'], identity: { source: 'id_token' } });
  });

  test('with no environment nothing is configured, and missing says why', () => {
    for (const entry of Object.values(registry)) expect(entry.configured).toBe(false);
    expect(registry.notion!.missing).toEqual(['NOTION_CLIENT_ID', 'NOTION_CLIENT_SECRET']);
    expect(registry['amazon-lwa']!.missing).toEqual(['AMAZON_CLIENT_ID', 'AMAZON_CLIENT_SECRET']);
    expect(registry.gmail!.missing).toEqual(['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET']);
    expect(registry.oidc!.missing).toEqual(['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ISSUER']);
    expect(registry.airbnb!.missing).toEqual([
      'AIRBNB_CLIENT_ID', 'AIRBNB_CLIENT_SECRET', 'AIRBNB_AUTHORIZATION_URL', 'AIRBNB_TOKEN_URL', 'AIRBNB_USERINFO_URL',
    ]);
  });

  test('GOOGLE_CLIENT_ID/SECRET configure google and its children, nothing else', () => {
    const configured = loadProviderRegistry({ env: GOOGLE_ENV });
    for (const name of ['google', 'google-calendar', 'gmail', 'youtube']) {
      expect(configured[name]).toMatchObject({ configured: true, missing: [], client_id: 'gid', client_secret: 'gsecret' });
    }
    expect(configured.microsoft!.configured).toBe(false);
  });

  test('an empty variable counts as unset', () => {
    expect(loadProviderRegistry({ env: { ...GOOGLE_ENV, GOOGLE_CLIENT_SECRET: '' } }).google!.missing).toEqual(['GOOGLE_CLIENT_SECRET']);
  });

  test.each([
    ['organizations', 'https://login.microsoftonline.com/organizations/v2.0'],
    ['9188040d-6c67-4c5b-b112-36a304b66dad', 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0'],
    ['', 'https://login.microsoftonline.com/common/v2.0'],
    [undefined, 'https://login.microsoftonline.com/common/v2.0'],
  ])('MICROSOFT_TENANT_ID=%s → %s', (tenant, issuer) => {
    const registry = loadProviderRegistry({ env: { MICROSOFT_TENANT_ID: tenant } });
    expect(registry.microsoft!.issuer).toBe(issuer);
    expect(registry['microsoft-calendar']!.issuer).toBe(issuer);
  });

  test('airbnb endpoints come from the environment', () => {
    const airbnb = loadProviderRegistry({
      env: {
        AIRBNB_AUTHORIZATION_URL: 'https://www.airbnb.example/oauth2/auth',
        AIRBNB_TOKEN_URL: 'https://api.airbnb.example/oauth2/token',
        AIRBNB_USERINFO_URL: 'https://api.airbnb.example/v2/users/me',
        AIRBNB_CLIENT_ID: 'a',
        AIRBNB_CLIENT_SECRET: 'b',
      },
    }).airbnb!;
    expect(airbnb).toMatchObject({ configured: true, missing: [], token_url: 'https://api.airbnb.example/oauth2/token' });
  });
});

describe('PROVIDERS_FILE', () => {
  test('overrides merge key by key; extends follows the overridden parent; lists replace; identity merges; new providers', () => {
    const file = providersFile(`
google:
  issuer: http://127.0.0.1:4000
  scopes: [openid]
  authorization_params: { prompt: select_account }
  identity: { email: [email, verified_email] }
youtube:
  issuer: https://youtube.example
microsoft-calendar:
  identity: { subject: oid }
acme:
  display_name: Acme
  extends: oidc
  issuer: https://id.acme.example
  client_id: acme-client
  client_secret: \${ACME_SECRET}
  token_auth_method: client_secret_post
`);
    const registry = loadProviderRegistry({ env: { ...GOOGLE_ENV, ACME_SECRET: 's3' }, overrideFile: file });
    expect(registry.google).toMatchObject({
      issuer: 'http://127.0.0.1:4000',
      revocation_url: 'https://oauth2.googleapis.com/revoke',
      scopes: ['openid'],
      authorization_params: { prompt: 'select_account' },
      token_auth_method: 'client_secret_post',
      identity: { source: 'id_token', subject: ['sub'], email: ['email', 'verified_email'] },
      configured: true,
    });
    expect(registry.gmail).toMatchObject({ issuer: 'http://127.0.0.1:4000', scopes: ['openid', 'email', 'profile', 'https://mail.google.com/'] });
    expect(registry['google-calendar']!.issuer).toBe('http://127.0.0.1:4000');
    expect(registry.youtube!.issuer).toBe('https://youtube.example');
    expect(registry['microsoft-calendar']!.identity).toEqual({ source: 'userinfo', subject: ['oid'], email: ['mail', 'userPrincipalName'] });
    expect(registry.acme).toMatchObject({
      name: 'acme',
      display_name: 'Acme',
      issuer: 'https://id.acme.example',
      client_id: 'acme-client',
      client_secret: 's3',
      scopes: ['openid', 'email', 'profile', 'offline_access'],
      token_auth_method: 'client_secret_post',
      configured: true,
      missing: [],
    });
    expect(Object.keys(registry)).toEqual([...BUILTINS, 'acme']);
  });

  test('${X:-default}, literal dollars, optional values, dropped list items and absent keys', () => {
    const file = providersFile(`
custom:
  authorization_url: "\${CUSTOM_BASE:-https://auth.example}/authorize"
  token_url: \${CUSTOM_BASE:-https://auth.example}/token
  client_id: id-$1-\${notvalid name}
  client_secret: "\${CUSTOM_SECRET:-fallback}"
  scopes: [read, "\${EXTRA_SCOPE:-}", "\${OTHER_SCOPE}"]
  authorization_params: { audience: "\${CUSTOM_AUDIENCE:-}", tenant: "\${CUSTOM_TENANT:-t1}" }
  revocation_url: "\${CUSTOM_REVOKE:-}"
half:
  authorization_url: https://half.example/authorize
  client_id: x
  client_secret: ""
bare: {}
`);
    const registry = loadProviderRegistry({ env: { CUSTOM_BASE: 'https://other.example' }, overrideFile: file });
    expect(registry.custom).toMatchObject({
      authorization_url: 'https://other.example/authorize',
      token_url: 'https://other.example/token',
      client_id: 'id-$1-${notvalid name}',
      client_secret: 'fallback',
      scopes: ['read'],
      authorization_params: { tenant: 't1' },
      revocation_url: undefined,
      identity: { source: 'none', subject: ['sub'], email: ['email'] },
      configured: false,
      missing: ['OTHER_SCOPE'],
    });
    expect(registry.half!.missing).toEqual(['client_secret', 'token_url']);
    expect(registry.bare).toMatchObject({ display_name: 'bare', configured: false, missing: ['client_id', 'client_secret', 'issuer'] });
  });

  test('a userinfo identity without discovery needs userinfo_url', () => {
    const file = providersFile(`
partner:
  authorization_url: https://p.example/a
  token_url: https://p.example/t
  client_id: a
  client_secret: b
  identity: { source: userinfo }
`);
    expect(loadProviderRegistry({ env: {}, overrideFile: file }).partner!.missing).toEqual(['userinfo_url']);
  });

  test.each([
    ['http non-loopback URL', 'airbnb:\n  token_url: http://api.airbnb.example/token\n', 'airbnb.token_url: http is allowed only for loopback hosts'],
    ['http URL after expansion', 'google:\n  issuer: "${ISSUER_HOST}"\n', 'google.issuer: http is allowed only for loopback hosts'],
    ['not a URL', 'notion:\n  revocation_url: revoke-here\n', 'notion.revocation_url: not a valid URL'],
    ['another scheme', 'notion:\n  token_url: ftp://x.example/t\n', 'notion.token_url: must be an https URL'],
    ['unknown key', 'google:\n  tokne_url: https://x.example\n', 'google.tokne_url: unknown key'],
    ['unknown identity key', 'google:\n  identity: { subjet: oid }\n', 'google.identity.subjet: unknown key'],
    ['bad type', 'google:\n  pkce: "yes"\n', 'google.pkce: '],
    ['bad list', 'google:\n  scopes: openid email\n', 'google.scopes: '],
    ['bad enum', 'google:\n  token_auth_method: private_key_jwt\n', 'google.token_auth_method: expected one of client_secret_basic, client_secret_post'],
    ['bad enum after expansion', 'google:\n  token_request_body: "${BODY}"\n', 'google.token_request_body: expected one of form, json'],
    ['bad provider name', 'Bad_Name:\n  issuer: https://x.example\n', 'Bad_Name: not a provider name'],
    ['unknown extends', 'acme:\n  extends: nope\n', 'acme.extends: unknown provider "nope"'],
    ['extends cycle', 'a:\n  extends: b\nb:\n  extends: a\n', '.extends: cycle '],
    ['cycle through a built-in', 'google:\n  extends: gmail\n', 'extends: cycle '],
    ['invalid YAML', 'google: [unclosed\n', 'invalid YAML: '],
    ['not a mapping', '- google\n', '(top level): '],
  ])('%s is refused naming the file and entry.key', (_what, yaml, expected) => {
    const file = providersFile(yaml);
    const load = () => loadProviderRegistry({ env: { ISSUER_HOST: 'http://accounts.example', BODY: 'xml' }, overrideFile: file });
    expect(load).toThrow(ProviderRegistryError);
    expect(load).toThrow(`PROVIDERS_FILE ${file}: `);
    expect(load).toThrow(expected);
  });

  test('a cycle error shows the chain and blames an edge of PROVIDERS_FILE', () => {
    const file = providersFile('a:\n  extends: b\nb:\n  extends: a\n');
    expect(() => loadProviderRegistry({ env: {}, overrideFile: file })).toThrow(`PROVIDERS_FILE ${file}: a.extends: cycle a → b → a`);
    const viaBuiltin = providersFile('google:\n  extends: gmail\n');
    expect(() => loadProviderRegistry({ env: {}, overrideFile: viaBuiltin })).toThrow(
      `PROVIDERS_FILE ${viaBuiltin}: google.extends: cycle google → gmail → google`,
    );
  });

  test('an unreadable file is refused naming it', () => {
    const missing = path.join(dir, 'does-not-exist.yaml');
    expect(() => loadProviderRegistry({ env: {}, overrideFile: missing })).toThrow(`PROVIDERS_FILE ${missing}: cannot read: ENOENT`);
    if (process.getuid?.() !== 0) {
      const locked = providersFile('google: {}\n');
      chmodSync(locked, 0o000);
      expect(() => loadProviderRegistry({ env: {}, overrideFile: locked })).toThrow(`PROVIDERS_FILE ${locked}: cannot read: EACCES`);
    }
  });

  test('an error in the built-in file names that file', () => {
    const builtinFile = providersFile('google:\n  issuer: http://accounts.example\n');
    expect(() => loadProviderRegistry({ env: {}, builtinFile })).toThrow(`${builtinFile}: google.issuer: http is allowed only for loopback hosts`);
  });

  test('loopback http is allowed for localhost, 127.0.0.1 and [::1]', () => {
    const file = providersFile(`
a: { issuer: "http://localhost:4000" }
b: { issuer: "http://127.0.0.1:4000/realms/x" }
c: { issuer: "http://[::1]:4000" }
`);
    expect(loadProviderRegistry({ env: {}, overrideFile: file }).c!.issuer).toBe('http://[::1]:4000');
  });
});

describe('loadConfig wiring', () => {
  test('config.providers holds the registry, built from the env given to loadConfig', () => {
    const file = providersFile('google:\n  issuer: http://127.0.0.1:4000\n');
    const config = loadConfig({ NODE_ENV: 'test', PROVIDERS_FILE: file, ...GOOGLE_ENV });
    expect(config.providers.gmail).toMatchObject({ issuer: 'http://127.0.0.1:4000', configured: true });
    expect(Object.isFrozen(config.providers.gmail)).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).providers.google!.configured).toBe(false);
  });

  test('a bad PROVIDERS_FILE stops the start with a ConfigError', () => {
    const file = providersFile('airbnb:\n  token_url: http://api.airbnb.example/token\n');
    const load = () => loadConfig({ NODE_ENV: 'test', PROVIDERS_FILE: file });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`Invalid configuration: PROVIDERS_FILE: ${file}: airbnb.token_url: http is allowed only for loopback hosts`);
  });
});
