import { describe, expect, it } from 'vitest';
import { decodeString, JsonLineScanner, KIND, parseJsonLine } from './json-line.js';

const FIELDS = ['episode_id', 'host_id', 'sha256'];

/** What the scanner makes of a line: null when declined, else the known fields' decoded strings. */
function scanned(sc: JsonLineScanner, b: Buffer, at: number): Record<string, string> | null {
  const end = sc.scan(b, at);
  if (end < 0) return null;
  const out: Record<string, string> = {};
  FIELDS.forEach((f, k) => {
    const kind = sc.kind[k] as number;
    if (kind === KIND.plainString || kind === KIND.string)
      out[f] = decodeString(b, sc.start[k] as number, sc.end[k] as number, kind);
  });
  return out;
}

/** The full parse's view of the same line (strings only), or null when it is no JSON object. */
function parsed(line: string): Record<string, string> | null {
  let v: unknown;
  try {
    v = parseJsonLine(line);
  } catch {
    return null;
  }
  const out: Record<string, string> = {};
  for (const f of FIELDS) {
    const x = (v as Record<string, unknown>)[f];
    if (typeof x === 'string') out[f] = x;
  }
  return out;
}

describe('JsonLineScanner strings', () => {
  // Plain runs are passed four bytes at a time through aligned words: every special byte at every
  // place of a word, at every alignment of the line in its buffer, must still be seen.
  it('sees a quote, backslash, control or non-ASCII byte at any place and alignment', () => {
    const specials = ['"', '\\\\', '\\"', '\\u00e9', '\u0001', '\u001f', '\u007f', 'é', '😀', ' ', '~'];
    const sc = new JsonLineScanner(FIELDS);
    for (let len = 0; len < 11; len++) {
      for (let at = 0; at <= len; at++) {
        for (const special of specials) {
          const value = `${'a'.repeat(at)}${special}${'b'.repeat(len - at)}`;
          for (const key of FIELDS) {
            const line = `{"${key}": "${value}", "x": "${value}"}`;
            for (let shift = 0; shift < 8; shift++) {
              const b = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(`${line}\n`)]);
              // A view at an odd offset too: the buffer's words then start mid-line.
              const view = b.subarray(shift % 3);
              expect(
                scanned(sc, view, shift - (shift % 3)),
                `${JSON.stringify(line)} shift ${shift}`,
              ).toEqual(parsed(line));
            }
          }
        }
      }
    }
  });

  it('finds known keys in any order, and keys that only begin like them are extra', () => {
    const sc = new JsonLineScanner(FIELDS);
    for (const line of [
      '{"sha256": "s", "host_id": "h", "episode_id": "e"}',
      '{"host_id":"h","sha256":"s","episode_id":"e","host_idx":"no","sha2567":"no","episode":"no"}',
      '{"episode_id": "a", "episode_id": "b", "host_\\u0069d": "h"}',
    ]) {
      expect(scanned(sc, Buffer.from(line), 0), line).toEqual(parsed(line));
    }
  });

  // Keys are looked up by their first four bytes (`slotField`): fields that share them, keys
  // shorter than four bytes with the quote, and extra keys that begin like a field are found by
  // name instead, in every order and at the buffer's very end.
  it('finds fields sharing their first bytes, short fields, and extras that begin like fields', () => {
    const fields = ['abcd', 'abcdef', 'abcdeg', 'ab', 'x', 'zz"y'];
    const sc = new JsonLineScanner(fields);
    const values = fields.map((_f, i) => `v${i}`);
    const keys = [
      ...fields.map((f) => JSON.stringify(f)),
      '"abc"',
      '"abcde"',
      '"abcdefg"',
      '"a"',
      '"xy"',
      '"ab\u0063d"',
    ];
    let seed = 11;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    for (let i = 0; i < 400; i++) {
      const chosen = keys.filter(() => random(3) > 0).sort(() => random(3) - 1);
      const line = `{${chosen.map((k, j) => `${k}:${j % 2 ? ' ' : ''}"${values[j % values.length]}"`).join(random(2) ? ',' : ', ')}}`;
      // The line alone in its buffer (its last key ends a few bytes before the buffer does).
      const b = Buffer.from(line);
      expect(sc.scan(b, 0), line).toBe(b.length);
      const want = JSON.parse(line) as Record<string, string>;
      fields.forEach((f, k) => {
        const kind = sc.kind[k] as number;
        const got =
          kind === KIND.absent
            ? undefined
            : decodeString(b, sc.start[k] as number, sc.end[k] as number, kind);
        expect(got, `${line} ${f}`).toBe(want[f]);
      });
      const extras = Object.keys(want).filter((k) => !fields.includes(k));
      expect(sc.extraCount, line).toBe(extras.length);
    }
  });
});
