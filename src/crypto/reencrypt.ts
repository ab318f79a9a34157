import type { Logger } from 'winston';
import { KeyRing } from './keyring.js';
import { secretAad } from '../clients/store.js';
import { connectionAad, mailboxPasswordAad, stateVerifierAad } from '../integrations/sealing.js';
import type { Queries } from '../queries/index.js';
import type { ConnectionRow } from '../queries/connections.js';
import { webhookSecretAad } from '../webhooks/signing.js';

/**
 * Re-encryption of every ciphertext at rest under the key ring's primary (first) key, so that an old key can
 * leave ENCRYPTION_KEYS. Safe while the app runs: rows are read in keyset pages and each one is written by one
 * small compare-and-set UPDATE on the ciphertext it read, so a concurrent write (a token refresh, a secret
 * rotation) is never overwritten; it wins, and its value is already sealed under the new key.
 *
 * Redis is left alone on purpose. The oidc artifacts it holds carry no ciphertext (the only sealed values, the
 * `sealedJti` of Session, DeviceCode and BackchannelAuthenticationRequest, go to the durable SQL store: see
 * storeFor in src/oidc/adapter/adapter.ts). The integrations token cache (src/integrations/token-cache.ts) does
 * hold sealed access tokens, but each lives only as long as its token (about an hour) and one the ring no longer
 * opens is a cache miss, not an error: they expire under the old key instead of being rewritten.
 */

/** The queries this needs: the paging and compare-and-set functions of each table holding ciphertext. */
export interface ReencryptQueries {
  signingKeys: Pick<Queries['signingKeys'], 'pageEncrypted' | 'replaceEncrypted'>;
  clients: Pick<Queries['clients'], 'pageEncryptedSecrets' | 'replaceSecretEncrypted'>;
  oidcModels: Pick<Queries['oidcModels'], 'pageSealed' | 'replaceSealed'>;
  connections: Pick<Queries['connections'], 'pageEncrypted' | 'replaceCiphertexts'>;
  mailboxes: Pick<Queries['mailboxes'], 'pageEncrypted' | 'replacePassword'>;
  oauthStates: Pick<Queries['oauthStates'], 'pageEncrypted' | 'replaceVerifier'>;
  webhooks: Pick<Queries['webhooks'], 'pageEncrypted' | 'replaceSecret'>;
}

/** A row that no key in the ring opens: its id and field, never the value. */
export interface ReencryptFailure {
  id: string;
  field: string;
  reason: string;
}

export interface TableResult {
  table: string;
  /** Rows holding at least one ciphertext. */
  scanned: number;
  reencrypted: number;
  already_current: number;
  /** Written by someone else between read and write (so already under the new key): not an error. */
  skipped_concurrent: number;
  failed: number;
  failures: ReencryptFailure[];
}

export interface ReencryptOptions {
  queries: ReencryptQueries;
  keyring: KeyRing;
  logger?: Logger;
  batchSize?: number;
  /** After every page (`done: false`) and once per table when it is finished (`done: true`). */
  onProgress?: (progress: TableResult & { done: boolean }) => void;
  /** Clock for "live" oidc artifacts. */
  now?: () => Date;
}

/** One ciphertext of a row, with the associated data it was sealed with. */
interface Sealed {
  field: string;
  ciphertext: string | null;
  aad: string;
}

/** How to walk one table: keyset pages, the ciphertexts of a row, and the compare-and-set write. */
interface TableSpec<Row, Cursor> {
  table: string;
  page(after: Cursor | undefined, limit: number): Promise<Row[]>;
  cursor(row: Row): Cursor;
  id(row: Row): string;
  sealed(row: Row): Sealed[];
  /** Writes the re-encrypted fields (field → new ciphertext) if the row still holds what was read. */
  replace(row: Row, next: Map<string, string>): Promise<boolean>;
}

// These two AADs mirror private helpers (src/oidc/signing-keys.ts `aad`, the adapter's `#aad`); the tests open
// the re-encrypted values through those modules, so a drift fails there.
const signingKeyAad = (kid: string) => `signing_keys:${kid}`;
const sealedJtiAad = (model: string, key: string) => `oidc_models:${model}:${key}:jti`;

type TableRun = (options: TableRunOptions) => Promise<TableResult>;
type TableRunOptions = ReencryptOptions & { batchSize: number };

/** One runner per table, in this order (each closes over its own row and cursor types). */
function tableRuns(queries: ReencryptQueries, now: () => Date): TableRun[] {
  const run =
    <Row, Cursor>(spec: TableSpec<Row, Cursor>): TableRun =>
    (options) =>
      reencryptTable(spec, options);
  const signingKeys: TableSpec<{ kid: string; private_jwk_encrypted: string }, string> = {
    table: 'signing_keys',
    page: (after, limit) => queries.signingKeys.pageEncrypted(after, limit),
    cursor: (row) => row.kid,
    id: (row) => row.kid,
    sealed: (row) => [{ field: 'private_jwk_encrypted', ciphertext: row.private_jwk_encrypted, aad: signingKeyAad(row.kid) }],
    replace: (row, next) => queries.signingKeys.replaceEncrypted(row.kid, row.private_jwk_encrypted, next.get('private_jwk_encrypted')!),
  };
  const clients: TableSpec<{ client_id: string; secret_encrypted: string }, string> = {
    table: 'clients',
    page: (after, limit) => queries.clients.pageEncryptedSecrets(after, limit),
    cursor: (row) => row.client_id,
    id: (row) => row.client_id,
    sealed: (row) => [{ field: 'secret_encrypted', ciphertext: row.secret_encrypted, aad: secretAad(row.client_id) }],
    replace: (row, next) => queries.clients.replaceSecretEncrypted(row.client_id, row.secret_encrypted, next.get('secret_encrypted')!),
  };
  const oidcModels: TableSpec<{ model: string; id: string; sealed_jti: string }, [string, string]> = {
    table: 'oidc_models',
    page: (after, limit) => queries.oidcModels.pageSealed(after, limit, now()),
    cursor: (row) => [row.model, row.id],
    // `id` is the SHA-256 storage key of the artifact, not its value.
    id: (row) => `${row.model}/${row.id}`,
    sealed: (row) => [{ field: 'payload.sealedJti', ciphertext: row.sealed_jti, aad: sealedJtiAad(row.model, row.id) }],
    replace: (row, next) => queries.oidcModels.replaceSealed(row.model, row.id, row.sealed_jti, next.get('payload.sealedJti')!),
  };
  const connections: TableSpec<ConnectionRow, string> = {
    table: 'integration_connections',
    page: (after, limit) => queries.connections.pageEncrypted(after, limit),
    cursor: (row) => row.id,
    id: (row) => row.id,
    sealed: (row) => [
      { field: 'access_token_enc', ciphertext: row.access_token_enc, aad: connectionAad(row, 'access_token') },
      { field: 'refresh_token_enc', ciphertext: row.refresh_token_enc, aad: connectionAad(row, 'refresh_token') },
    ],
    // Both columns are compared (and written: an unchanged one keeps its value), as a refresh changes both.
    replace: (row, next) => {
      const expected = { access_token_enc: row.access_token_enc, refresh_token_enc: row.refresh_token_enc };
      return queries.connections.replaceCiphertexts(row.id, expected, {
        access_token_enc: next.get('access_token_enc') ?? row.access_token_enc,
        refresh_token_enc: next.get('refresh_token_enc') ?? row.refresh_token_enc,
      });
    },
  };
  type MailboxRow = Awaited<ReturnType<Queries['mailboxes']['pageEncrypted']>>[number];
  const mailboxes: TableSpec<MailboxRow, [string, string]> = {
    table: 'integration_mailboxes',
    page: (after, limit) => queries.mailboxes.pageEncrypted(after, limit),
    cursor: (row) => [row.workspace_id, row.purpose],
    id: (row) => `${row.workspace_id}/${row.purpose}`,
    sealed: (row) => [{ field: 'password_enc', ciphertext: row.password_enc, aad: mailboxPasswordAad(row) }],
    replace: (row, next) => queries.mailboxes.replacePassword(row.workspace_id, row.purpose, row.password_enc!, next.get('password_enc')!),
  };
  type StateRow = Awaited<ReturnType<Queries['oauthStates']['pageEncrypted']>>[number];
  const oauthStates: TableSpec<StateRow, string> = {
    table: 'oauth_states',
    page: (after, limit) => queries.oauthStates.pageEncrypted(after, limit),
    cursor: (row) => row.state_hash,
    id: (row) => row.state_hash,
    sealed: (row) => [{ field: 'code_verifier_enc', ciphertext: row.code_verifier_enc, aad: stateVerifierAad(row.state_hash) }],
    replace: (row, next) => queries.oauthStates.replaceVerifier(row.state_hash, row.code_verifier_enc!, next.get('code_verifier_enc')!),
  };
  type WebhookRow = Awaited<ReturnType<Queries['webhooks']['pageEncrypted']>>[number];
  const webhooks: TableSpec<WebhookRow, string> = {
    table: 'webhook_subscriptions',
    page: (after, limit) => queries.webhooks.pageEncrypted(after, limit),
    cursor: (row) => row.id,
    id: (row) => row.id,
    sealed: (row) => [{ field: 'secret_enc', ciphertext: row.secret_enc, aad: webhookSecretAad(row.id) }],
    replace: (row, next) => queries.webhooks.replaceSecret(row.id, row.secret_enc, next.get('secret_enc')!),
  };
  return [run(signingKeys), run(clients), run(oidcModels), run(connections), run(mailboxes), run(oauthStates), run(webhooks)];
}

type RowOutcome = 'reencrypted' | 'already_current' | 'skipped_concurrent' | { failures: ReencryptFailure[] };

/**
 * Opens every stale ciphertext of a row and seals it again under the primary key. A row with any ciphertext
 * the ring cannot open is not written at all: it needs a person (and its other fields are no use on their own).
 */
async function reencryptRow<Row, Cursor>(spec: TableSpec<Row, Cursor>, row: Row, keyring: KeyRing): Promise<RowOutcome> {
  const stale = spec.sealed(row).filter((s): s is Sealed & { ciphertext: string } => s.ciphertext !== null && KeyRing.kidOf(s.ciphertext) !== keyring.primaryKid);
  if (stale.length === 0) return 'already_current';
  const next = new Map<string, string>();
  const failures: ReencryptFailure[] = [];
  for (const { field, ciphertext, aad } of stale) {
    try {
      next.set(field, keyring.encrypt(keyring.decrypt(ciphertext, aad), aad));
    } catch (error) {
      // KeyRing's messages name the key id and never the value.
      failures.push({ id: spec.id(row), field, reason: (error as Error).message });
    }
  }
  if (failures.length) return { failures };
  return (await spec.replace(row, next)) ? 'reencrypted' : 'skipped_concurrent';
}

async function reencryptTable<Row, Cursor>(spec: TableSpec<Row, Cursor>, options: TableRunOptions): Promise<TableResult> {
  const result: TableResult = { table: spec.table, scanned: 0, reencrypted: 0, already_current: 0, skipped_concurrent: 0, failed: 0, failures: [] };
  let after: Cursor | undefined;
  for (;;) {
    const rows = await spec.page(after, options.batchSize);
    for (const row of rows) {
      result.scanned += 1;
      const outcome = await reencryptRow(spec, row, options.keyring);
      if (typeof outcome === 'string') result[outcome] += 1;
      else {
        result.failed += 1;
        result.failures.push(...outcome.failures);
        for (const failure of outcome.failures) options.logger?.warn('re-encryption: ciphertext cannot be opened', { table: spec.table, ...failure });
      }
    }
    if (rows.length < options.batchSize) break;
    after = spec.cursor(rows[rows.length - 1]!);
    options.onProgress?.({ ...result, done: false });
  }
  options.onProgress?.({ ...result, done: true });
  options.logger?.info('re-encryption: table done', { ...result, failures: undefined });
  return result;
}

/** Re-encrypts every table in turn; a failing row never stops the others. */
export async function reencryptAll(options: ReencryptOptions): Promise<TableResult[]> {
  const batchSize = options.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
  const results: TableResult[] = [];
  for (const run of tableRuns(options.queries, options.now ?? (() => new Date()))) results.push(await run({ ...options, batchSize }));
  return results;
}

/** One line per table, for the CLI. */
export function formatTableResult(result: TableResult): string {
  return (
    `${result.table}: ${result.scanned} scanned, ${result.reencrypted} re-encrypted, ${result.already_current} already current, ` +
    `${result.skipped_concurrent} changed concurrently (skipped), ${result.failed} failed`
  );
}

/** Totals and the failing rows (ids and fields only). */
export function formatSummary(results: TableResult[], primaryKid: string): string {
  const sum = (key: 'scanned' | 'reencrypted' | 'already_current' | 'skipped_concurrent' | 'failed') => results.reduce((n, r) => n + r[key], 0);
  const lines = [
    `total: ${sum('scanned')} rows scanned, ${sum('reencrypted')} re-encrypted under key "${primaryKid}", ${sum('already_current')} already current, ` +
      `${sum('skipped_concurrent')} changed concurrently, ${sum('failed')} failed`,
  ];
  const failures = results.flatMap((r) => r.failures.map((f) => `  ${r.table} ${f.id} ${f.field}: ${f.reason}`));
  if (failures.length) lines.push('rows no key in ENCRYPTION_KEYS opens (left unchanged):', ...failures);
  return lines.join('\n');
}
