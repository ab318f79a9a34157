import type { IncomingMessage } from 'node:http';
import inflate from 'inflation';
import getRawBody from 'raw-body';
import { badRequest } from './errors.js';

/**
 * The request body as bytes, decompressed (gzip, deflate, br), at most `limit` of them after decompression: what
 * co-body reads with, minus its decoding. co-body (koa-body) always decodes as UTF-8 and turns bytes that are not
 * UTF-8 into U+FFFD, which were then stored; raw-body without an `encoding` returns a Buffer and leaves that to the
 * caller. Its errors carry their status: 413 over the limit, 400 for an aborted or short body, 415 (inflation) for
 * an unknown content coding; a broken gzip stream carries none, and the caller maps it.
 * https://github.com/stream-utils/raw-body#getrawbodystream-options-callback
 */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  // The declared length is checked only when nothing is decompressed: it counts the compressed bytes.
  const length = coding === 'identity' ? req.headers['content-length'] : undefined;
  return getRawBody(inflate(req, { encoding: coding } as inflate.Options), { limit, length });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON text between systems is UTF-8 (RFC 8259 §8.1). Decoded fatally: bytes that are not UTF-8 are a 400, never
 * replaced with U+FFFD. A leading byte order mark is dropped (§8.1: a parser MAY ignore it).
 */
export function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest('the body is not valid UTF-8');
  }
}

/** `charset` values that name UTF-8 (case-insensitive; `utf8` is the common alias). */
export const isUtf8Charset = (charset: string): boolean => /^utf-?8$/i.test(charset);
