/**
 * What Postgres text and jsonb columns hold: not U+0000, and (jsonb) no unpaired UTF-16 surrogate. Shared by the
 * input guard of our routes (src/http/input-guard.ts), page cursors and the oidc adapter (src/oidc/storable.ts).
 * https://www.postgresql.org/docs/current/datatype-json.html
 */
/** A UTF-16 surrogate without its pair: JSON allows it (`"\ud800"`), UTF-8 and Postgres' jsonb do not. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as text, if it cannot. */
export function unstorableText(value: string): string | undefined {
  if (value.includes('\0')) return 'contains U+0000';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate';
  return undefined;
}
