import { RECEIVER_NAME } from '../protocol/receivers.js';
import { timestampMs } from '../util/time.js';
import { badQuery } from './errors.js';

/** Fastify's parsed query: a key repeated in the URL arrives as an array. */
export type RawQuery = Record<string, string | string[] | undefined>;

/** Rejects parameters the endpoint does not know, naming them (routes without a TypeBox query schema). */
export function onlyKnown(query: RawQuery, known: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!known.includes(key)) {
      throw badQuery(`unknown query parameter '${key}' (known: ${known.join(', ')})`);
    }
  }
}

/** All values of a repeatable parameter (`?host=a&host=b`, also `?host=a,b`). */
export function list(query: RawQuery, key: string): string[] {
  const v = query[key];
  const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return values.flatMap((s) => s.split(',')).filter((s) => s !== '');
}

/**
 * `receiver` (repeatable, or comma-separated), each a receiver name (protocol/receivers.ts): a
 * name no receiver can have (`bad/name`) is a 400, not an empty answer.
 */
export function receiverList(query: RawQuery): string[] {
  const names = list(query, 'receiver');
  const bad = names.find((n) => !RECEIVER_NAME.test(n));
  if (bad !== undefined)
    throw badQuery(
      `query parameter 'receiver' must be a receiver name (1–64 of A-Z a-z 0-9 . _ -), got ${JSON.stringify(bad)}`,
    );
  return names;
}

export function single(query: RawQuery, key: string): string | undefined {
  const v = query[key];
  if (Array.isArray(v)) throw badQuery(`query parameter '${key}' given more than once`);
  return v === '' ? undefined : v;
}

export function intParam(query: RawQuery, key: string, min: number, max: number): number | undefined {
  const v = single(query, key);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw badQuery(`query parameter '${key}' must be a whole number, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max)
    throw badQuery(`query parameter '${key}' must be between ${min} and ${max}, got ${v}`);
  return n;
}

/** A time bound: ISO-8601 or epoch seconds → epoch milliseconds. */
export function timeParam(query: RawQuery, key: string): number | undefined {
  const v = single(query, key);
  if (v === undefined) return undefined;
  const ms = timestampMs(v);
  if (ms === null) throw badQuery(`query parameter '${key}' must be ISO-8601 or epoch seconds, got '${v}'`);
  return ms;
}

export function boolParam(query: RawQuery, key: string): boolean {
  const v = single(query, key);
  if (v === undefined) return false;
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw badQuery(`query parameter '${key}' must be 1 or 0, got '${v}'`);
}

/** Opaque keyset cursors: base64url of a small JSON array. */
export function encodeCursor(values: readonly (string | number | null)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(query: RawQuery, arity: number): Array<string | number | null> | undefined {
  const v = single(query, 'cursor');
  if (v === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === arity &&
      parsed.every((x) => x === null || typeof x === 'string' || typeof x === 'number')
    ) {
      return parsed as Array<string | number | null>;
    }
  } catch {
    // falls through to the error below
  }
  throw badQuery("query parameter 'cursor' is not a cursor this server issued");
}
