/**
 * Primes a thread's scanner code with made-up index lines of every shape a receiver writes, before
 * its first real range.
 *
 * V8 gives a function a feedback vector only after its first few calls, and optimizes it once it
 * is hot, from the feedback it has then. A branch the scan had not taken by that time (a time
 * without a fraction, an escaped path, a host that holds no slot) or a statement run before the
 * vector existed (a range loop's first one) has none, so the optimized code is thrown away when
 * the real data first takes it, and the function runs in the interpreter again until it is
 * compiled once more (`--trace-deopt` on a 1M-line mixed index: the scan, its time parser and its
 * spans writer, on each thread that scans). Scanning a few hundred lines of every shape first, in
 * small ranges through the same calls as a real range, gives every branch its feedback for a few
 * milliseconds of interpreted work (≈ 20 ms wall, ≈ 33 ms CPU with the compiles it starts). It is
 * enough for V8 to compile the smallest helpers (`string`, `expectKey`, `hashAscii`: `node --prof`
 * shows them right after it), not the scan itself, which is compiled on the real lines with this
 * feedback as well as theirs.
 */
import { rangeCapacity } from './first-pass-protocol.js';
import { newColumns } from './index-compact.js';
import { MAX_LINE_BYTES } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';
import { rangeBuilder } from './range-builder.js';

/** The time forms a Python receiver writes (`isoformat()` with and without offset and fraction, epoch numbers). */
const TIMES = [
  '"2026-10-12T20:52:16.488120-08:00"',
  '"2026-10-13T04:52:21.763Z"',
  '"2026-10-22T19:58:55.734"',
  '"2026-10-23T01:28:57.867417+05:30"',
  '"2026-10-22T19:58:59.329719Z"',
  '"2026-10-22 19:59:00.379+00:00"',
  '"2026-09-21T14:13:27+00:00"',
  '"2026-09-21T09:13:21"',
  '1791867138.088',
  '1791867138',
];

/** Values of keys the scanner does not know, of every JSON type and Python's float constants. */
export const PRIMER_EXTRAS = [
  '"receiver": "rx-01"',
  '"verified": true',
  '"ok": false',
  '"note": null',
  '"ratio": 1.5e-7',
  '"lag_seconds": Infinity',
  '"drift": -Infinity',
  '"score": NaN',
  '"empty": {}',
  '"tags": []',
  '"meta": {"tags": ["rerun", "night"], "note": "", "n": -3, "deep": {"x": [1, 2.5, null]}}',
  '"site": "Z\\u00fcrich lab \\u2014 bench 3 \\ud83d\\ude00"',
  '"site_raw": "Zürich — bench 3"',
  '"client_addr": "10.0.31.203"',
  '"cmd": "say \\"hi\\" \\\\ \\/ \\n\\t\\r\\b\\f"',
  // A '#' right after a quote: the word test flags it too (a borrow), and `string` looks at it.
  '"label": "#night"',
];

const SHA = '580148869da60e42cb908fb88d0bcc6b258a7b092c61fe24ac2b8fc0d62fcbd9';

/**
 * One made-up line: `i` picks its id, host, time form, separators, key order and how many extras;
 * the extras are PRIMER_EXTRAS from `nextExtra.n` on (advanced past them).
 */
function madeUpIndexLine(i: number, nextExtra: { n: number }): string {
  const id =
    i % 29 === 7
      ? `ep\\u002d${i}`
      : `ep-20261013T0446${String(i % 60).padStart(2, '0')}-${(0xd55b7f00 + i).toString(16)}`;
  const host =
    i % 13 === 5
      ? `collector-building-b-floor-2-room-${i % 7}-bench-04`
      : i % 31 === 3
        ? 'ws-m\\u00fcller'
        : `host-${String(i % 24).padStart(2, '0')}`;
  const pairs: Array<[string, string]> = [
    ['episode_id', `"${id}"`],
    ['host_id', `"${host}"`],
    ['sha256', i % 17 === 4 ? 'null' : `"${SHA}"`],
    ['size_bytes', i % 11 === 2 ? `${5000 + i}.0` : String(5000 + (i % 3000))],
    ['received_at_wall', TIMES[i % TIMES.length] as string],
  ];
  if (i % 9 === 1) pairs.push(['path', `"episodes/${host}/${id}.tar.zst"`]);
  // Key orders: as a receiver's dict keeps them, reversed, rotated.
  const order = i % 4;
  if (order === 1) pairs.reverse();
  else if (order === 2) pairs.push(...pairs.splice(0, 2));
  const python = i % 3 !== 0;
  const [kv, sep] = python ? [': ', ', '] : [':', ','];
  const parts = pairs.map(([k, v]) => `"${k}"${kv}${v}`);
  const extras = i % 5 === 0 ? 0 : 1 + (i % 3);
  for (let e = 0; e < extras; e++) {
    // Each in turn, over the lines (the test checks that every one is met: the earlier pick by
    // i * 7 + e * 3 met 6 of 14, so a receiver's `true`, `{}` or escaped surrogates first seen in a
    // real range threw the compiled scan away: `--trace-deopt` on a mixed index).
    const x = PRIMER_EXTRAS[nextExtra.n++ % PRIMER_EXTRAS.length] as string;
    parts.splice((i + e) % (parts.length + 1), 0, python ? x : x.replaceAll(': ', ':').replaceAll(', ', ','));
  }
  return `{${parts.join(sep)}}`;
}

/** Ranges and lines per range the primer scans: more ranges than V8's calls before a function gets feedback (8). */
const PRIME_RANGES = 12;
const PRIME_LINES = 40;
/** Rounds of the primer's four alignments of a line (see `primeScanner`). */
const TAIL_ROUNDS = 4;

/** Every line `primeScanner` scans, in order. */
export function primerLines(): string[] {
  const nextExtra = { n: 0 };
  return Array.from({ length: PRIME_RANGES * PRIME_LINES }, (_, i) => madeUpIndexLine(i, nextExtra));
}

/**
 * Scans `primerLines` in PRIME_RANGES small ranges, each through a fresh builder as a real range
 * is (`rangeBuilder`). Nothing is kept.
 */
export function primeScanner(): void {
  // A string that runs into a buffer's last bytes, past its last aligned word (JsonLineScanner's
  // `string` then reads them one by one): one line per alignment, so one of them ends so. Unprimed,
  // the first real range that did threw the optimized `string` away on each thread that met it
  // (`--trace-deopt`: "Insufficient type feedback for binary operation"). First, as feedback that
  // comes after V8 began compiling the function is not in its optimized code; a few times over, as
  // a function's first calls (8) record none.
  // An empty string there (its opening quote the last byte of a word) is read outside the words.
  for (let pad = 0; pad < 4 * TAIL_ROUNDS; pad++) {
    for (const last of ['"host_id": "h"', '"host_id": "h", "note": ""']) {
      const chunk = Buffer.from(`${' '.repeat(pad % 4)}{"episode_id": "ep-${pad}", ${last}}\n`, 'utf8');
      scanIndexRange(chunk, 0, MAX_LINE_BYTES, rangeBuilder(chunk.length));
    }
  }
  const lines = primerLines();
  for (let r = 0; r < PRIME_RANGES; r++) {
    const chunk = Buffer.from(`${lines.slice(r * PRIME_LINES, (r + 1) * PRIME_LINES).join('\n')}\n`, 'utf8');
    // Every other one over columns with room for its tail, as the main thread's spares have
    // (`finish` copies the tail there: unprimed, that first copy threw the optimized `finish` away).
    const columns =
      r % 2 === 1
        ? { ...newColumns(rangeCapacity(chunk.length)), tail: new Uint8Array(chunk.length) }
        : undefined;
    scanIndexRange(chunk, 0, MAX_LINE_BYTES, rangeBuilder(chunk.length, columns));
  }
}
