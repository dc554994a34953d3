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
});
