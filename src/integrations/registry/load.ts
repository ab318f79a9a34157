import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  ENUM_KEYS,
  PLACEHOLDER,
  URL_KEYS,
  rawFileSchema,
  urlProblem,
  type IdentitySource,
  type ProviderEntry,
  type ProviderRegistry,
  type RawEntry,
} from './schema.js';

const BUILTIN = 'config/providers.yaml';

/** A bad registry file. `setting` is 'PROVIDERS_FILE' or the built-in file; the message names the file and entry.key. */
export class ProviderRegistryError extends Error {
  override name = 'ProviderRegistryError';
  constructor(
    readonly setting: string,
    /** The message after the setting: `[file: ]entry.key: problem`. */
    readonly detail: string,
  ) {
    super(setting === 'PROVIDERS_FILE' ? `PROVIDERS_FILE ${detail}` : `${setting}: ${detail}`);
  }
}

type Env = Record<string, string | undefined>;
interface Source { setting: string; file: string }
/** One key of one entry, flattened (`identity.subject`), with the file it came from. */
interface Field { value: unknown; source: Source; missing: string[] }
type Fields = Record<string, Field>;

function fail(source: Source, problem: string): never {
  throw new ProviderRegistryError(source.setting, source.setting === 'PROVIDERS_FILE' ? `${source.file}: ${problem}` : problem);
}

type Issue = z.ZodError['issues'][number];
function describe(issue: Issue): string {
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') return `${[...at, issue.keys.join(', ')].join('.')}: unknown key`;
  if (issue.code === 'invalid_key') return `${at.join('.')}: not a provider name (lowercase letters, digits and dashes)`;
  return `${at.join('.') || '(top level)'}: ${issue.message}`;
}

/** Reads and validates one file; its entries come back flattened, each field remembering this file. */
function readEntries(source: Source): Map<string, Fields> {
  let text: string;
  let data: unknown;
  try {
    text = readFileSync(source.file, 'utf8');
  } catch (error) {
    fail(source, `cannot read: ${(error as Error).message}`);
  }
  try {
    data = parseYaml(text);
  } catch (error) {
    fail(source, `invalid YAML: ${(error as Error).message}`);
  }
  const result = rawFileSchema.safeParse(data ?? {});
  if (!result.success) fail(source, result.error.issues.map(describe).join('; '));
  return new Map(Object.entries(result.data).map(([name, entry]) => [name, flatten(entry, source)]));
}

/** `identity` becomes three fields so that it merges key by key; subject/email become lists. */
function flatten(entry: RawEntry, source: Source): Fields {
  const fields: Fields = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key !== 'identity') fields[key] = { value, source, missing: [] };
  }
  for (const [key, value] of Object.entries(entry.identity ?? {})) {
    fields[`identity.${key}`] = { value: key !== 'source' && typeof value === 'string' ? [value] : value, source, missing: [] };
  }
  return fields;
}

/**
 * `${NAME}` / `${NAME:-default}` in every string (also list items and map values). An empty variable counts as
 * unset (as in src/config.ts). A string with an unset variable and no default becomes undefined (a list item or map
 * value is dropped) and NAME goes to `missing`; an empty result is undefined too, so `${X:-}` means "optional".
 */
function expand(value: unknown, env: Env, missing: string[]): unknown {
  if (typeof value === 'string') {
    let unset = false;
    const out = value.replace(new RegExp(PLACEHOLDER.source, 'g'), (_match, name: string, fallback?: string) => {
      const set = env[name];
      if (set !== undefined && set !== '') return set;
      if (fallback !== undefined) return fallback;
      unset = true;
      missing.push(name);
      return '';
    });
    return unset || out === '' ? undefined : out;
  }
  if (Array.isArray(value)) return value.map((item) => expand(item, env, missing)).filter((item) => item !== undefined);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, item]) => [key, expand(item, env, missing)] as const);
    return Object.fromEntries(entries.filter(([, item]) => item !== undefined));
  }
  return value;
}

function expandFields(name: string, fields: Fields, env: Env): Fields {
  const out: Fields = {};
  for (const [key, field] of Object.entries(fields)) {
    const missing: string[] = [];
    const value = key === 'extends' ? field.value : expand(field.value, env, missing);
    const allowed = ENUM_KEYS[key];
    if (typeof value === 'string' && (URL_KEYS as readonly string[]).includes(key)) {
      const problem = urlProblem(value);
      if (problem) fail(field.source, `${name}.${key}: ${problem}`);
    } else if (typeof value === 'string' && allowed && !allowed.includes(value)) {
      fail(field.source, `${name}.${key}: expected one of ${allowed.join(', ')}`);
    }
    out[key] = { ...field, value, missing };
  }
  return out;
}

/** `extends` after merging, so an override of a parent also reaches its children; unknown parents and cycles fail. */
function resolveExtends(entries: Map<string, Fields>): Map<string, Fields> {
  const resolved = new Map<string, Fields>();
  const visit = (name: string, chain: string[]): Fields => {
    const done = resolved.get(name);
    if (done) return done;
    const { extends: parentField, ...own } = entries.get(name)!;
    let fields = own;
    if (parentField) {
      const parent = parentField.value as string;
      if (!entries.has(parent)) fail(parentField.source, `${name}.extends: unknown provider "${parent}"`);
      if (chain.includes(parent)) {
        // Blame an edge PROVIDERS_FILE added (the built-in file alone has no cycle), else the closing one.
        const cycle = [...chain.slice(chain.indexOf(parent)), parent];
        const culprit = cycle.find((n) => entries.get(n)!.extends?.source.setting === 'PROVIDERS_FILE') ?? name;
        fail(entries.get(culprit)!.extends!.source, `${culprit}.extends: cycle ${cycle.join(' → ')}`);
      }
      fields = { ...visit(parent, [...chain, parent]), ...own };
    }
    resolved.set(name, fields);
    return fields;
  };
  for (const name of entries.keys()) visit(name, [name]);
  return resolved;
}

/** Field order for `missing` (credentials first, then endpoints). */
const KEY_ORDER = ['client_id', 'client_secret', ...URL_KEYS];

function build(name: string, fields: Fields): ProviderEntry {
  const get = <T>(key: string): T | undefined => fields[key]?.value as T | undefined;
  const unresolved = (key: string): boolean => (fields[key]?.missing.length ?? 0) > 0;
  const lacks = (key: string): boolean => get(key) === undefined && !unresolved(key);
  const scopes = get<string[]>('scopes') ?? [];
  const source = get<IdentitySource>('identity.source') ?? (scopes.includes('openid') ? 'id_token' : 'none');

  const keys = [...KEY_ORDER, ...Object.keys(fields).filter((key) => !KEY_ORDER.includes(key))];
  const missing = new Set(keys.flatMap((key) => fields[key]?.missing ?? []));
  for (const key of ['client_id', 'client_secret']) if (lacks(key)) missing.add(key);
  if (lacks('issuer')) {
    const explicit = ['authorization_url', 'token_url'];
    if (explicit.every((key) => !(key in fields))) missing.add('issuer');
    else explicit.filter(lacks).forEach((key) => missing.add(key));
    // Without discovery, identity from userinfo needs the endpoint spelled out.
    if (source === 'userinfo' && lacks('userinfo_url')) missing.add('userinfo_url');
  }

  return {
    name,
    display_name: get('display_name') ?? name,
    issuer: get('issuer'),
    authorization_url: get('authorization_url'),
    token_url: get('token_url'),
    userinfo_url: get('userinfo_url'),
    revocation_url: get('revocation_url'),
    client_id: get('client_id'),
    client_secret: get('client_secret'),
    scopes,
    authorization_params: get('authorization_params') ?? {},
    token_auth_method: get('token_auth_method') ?? 'client_secret_basic',
    token_request_body: get('token_request_body') ?? 'form',
    pkce: get('pkce') ?? true,
    identity: { source, subject: get('identity.subject') ?? ['sub'], email: get('identity.email') ?? ['email'] },
    rotates_refresh_tokens: get('rotates_refresh_tokens') ?? false,
    configured: missing.size === 0,
    missing: [...missing],
  };
}

/** The first `config/providers.yaml` above this module (src/… under jest, dist/src/… after tsc). */
function findBuiltinFile(): string {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, BUILTIN);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new ProviderRegistryError(BUILTIN, `not found in any directory above ${start}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * The consumer's providers: the built-in registry, with PROVIDERS_FILE merged over it entry by entry and key by key
 * (lists and maps replace, `identity` merges key by key), then `extends`, `${ENV}` expansion and defaults.
 * Never reads the process environment itself: `env` is the one src/config.ts was given.
 */
export function loadProviderRegistry(options: { env: Env; overrideFile?: string; builtinFile?: string }): ProviderRegistry {
  const builtin = readEntries({ setting: options.builtinFile ?? BUILTIN, file: options.builtinFile ?? findBuiltinFile() });
  const merged = new Map(builtin);
  if (options.overrideFile) {
    const source = { setting: 'PROVIDERS_FILE', file: options.overrideFile };
    for (const [name, fields] of readEntries(source)) merged.set(name, { ...merged.get(name), ...fields });
  }
  const expanded = new Map([...merged].map(([name, fields]) => [name, expandFields(name, fields, options.env)]));
  const registry: Record<string, ProviderEntry> = {};
  const resolved = resolveExtends(expanded);
  for (const name of expanded.keys()) registry[name] = build(name, resolved.get(name)!);
  return deepFreeze(registry);
}
