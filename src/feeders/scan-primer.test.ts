import { describe, expect, it } from 'vitest';
import { JsonLineScanner, KIND } from './json-line.js';
import { INDEX, INDEX_FIELDS, parseIndexLineFully, scannedIndexRecord } from './records.js';
import { PRIMER_EXTRAS, primerLines } from './scan-primer.js';

const lines = primerLines();

describe('the scan primer', () => {
  it('makes lines the byte scanner accepts, each read as the full parse reads it', () => {
    // A line the scanner declined would prime the fallback, not the scan.
    const sc = new JsonLineScanner(INDEX_FIELDS);
    for (const line of lines) {
      const b = Buffer.from(`${line}\n`);
      expect(sc.scan(b, 0), line).toBe(b.length - 1);
      const full = parseIndexLineFully(line);
      expect(full.ok, line).toBe(true);
      expect(scannedIndexRecord(sc), line).toEqual(full);
    }
  });

  it('covers the shapes whose first sight threw optimized scan code away', () => {
    const sc = new JsonLineScanner(INDEX_FIELDS);
    const seen = new Set<string>();
    for (const line of lines) {
      sc.scan(Buffer.from(`${line}\n`), 0);
      const k = sc.kind;
      if (k[INDEX.episode_id] === KIND.string) seen.add('escaped id');
      if (k[INDEX.host_id] === KIND.string) seen.add('escaped host');
      if (k[INDEX.path] === KIND.string) seen.add('escaped path');
      if (k[INDEX.path] === KIND.plainString) seen.add('path');
      if (k[INDEX.sha256] === KIND.null) seen.add('null sha256');
      if (k[INDEX.received_at_wall] === KIND.number) seen.add('epoch time');
      if (sc.extraCount > 0) seen.add('extra keys');
      if (line.includes('", "')) seen.add('python separators');
      if (!line.startsWith('{"episode_id"')) seen.add('other key order');
    }
    // Every extra value, each kind of JSON value and escape, in some line (both separator styles).
    for (const extra of PRIMER_EXTRAS) {
      const compact = extra.replaceAll(': ', ':').replaceAll(', ', ',');
      expect(
        lines.some((l) => l.includes(extra) || l.includes(compact)),
        extra,
      ).toBe(true);
    }
    for (const form of ['+00:00"', 'Z"', ':55.734"', '19:59:00.379', '14:13:27+00:00"', 'T09:13:21"'])
      expect(
        lines.some((l) => l.includes(form)),
        form,
      ).toBe(true);
    expect([...seen].sort()).toEqual(
      [
        'epoch time',
        'escaped host',
        'escaped id',
        'escaped path',
        'extra keys',
        'null sha256',
        'other key order',
        'path',
        'python separators',
      ].sort(),
    );
  });
});
