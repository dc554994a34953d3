import { describe, expect, it } from 'vitest';
import { hash64 } from './id-hash-set.js';
import { newerMs } from './index-aggregates.js';
import {
  CompactBatchBuilder,
  compactIndexBatch,
  faultedColumns,
  LINE_OK,
  SKIP_CODES,
  sumsWithout,
} from './index-compact.js';
import { MAX_LINE_BYTES } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';
import { parseIndexLine } from './records.js';

describe('compactIndexBatch', () => {
  it('accepts and rejects exactly like the per-line parser', () => {
    const lines = [
      '{"episode_id":"a","host_id":"h1","size_bytes":10,"received_at_wall":"2026-11-01T10:00:00.000Z"}',
      'not json',
      'null',
      '{"episode_id":"b"}',
      '{"episode_id":7,"host_id":"h2","size_bytes":-1,"received_at_wall":1795000000}',
      '{"episode_id":"c","host_id":"h1","received_at_wall":"2026-11-01T12:00:00+02:00","extra":1}',
      // The receiver's shape (fast path) and near misses that must take the general path.
      '{"episode_id":"d","host_id":"h3","sha256":"ab","size_bytes":12.5e1,"received_at_wall":"2026-11-01T10:00:00.000Z","path":"episodes/h3/d.tar.zst"}',
      '{"episode_id":"e","host_id":"h3","sha256":"ab","size_bytes":-4,"received_at_wall":1795000000.25}',
      '{"episode_id":"","host_id":"h3","sha256":"ab","size_bytes":1,"received_at_wall":1}',
      '{"episode_id":"f\\"q","host_id":"h3","sha256":"ab","size_bytes":1,"received_at_wall":1}',
      '{"episode_id":"g\u2028h","host_id":"h3","sha256":"ab","size_bytes":1,"received_at_wall":"x"}',
      '{"episode_id": "i","host_id":"h3","sha256":"ab","size_bytes":1,"received_at_wall":1}',
      '{"episode_id":"j","host_id":"h3","sha256":"ab","size_bytes":01,"received_at_wall":1}',
      '{"episode_id":"k","host_id":"h3","sha256":"ab","size_bytes":1,"received_at_wall":1,}',
    ];
    const batch = compactIndexBatch(lines);
    lines.forEach((line, i) => {
      const parsed = parseIndexLine(line);
      const status = batch.status[i] as number;
      if (!parsed.ok) {
        expect(SKIP_CODES[status - 1]).toBe(parsed.reason);
        return;
      }
      expect(status).toBe(0);
      const [hi, lo] = hash64(parsed.record.episode_id);
      expect([batch.hashHi[i], batch.hashLo[i]]).toEqual([hi, lo]);
      expect(batch.hosts[batch.host[i] as number]).toBe(parsed.record.host_id);
      expect(Number.isNaN(batch.size[i]) ? null : batch.size[i]).toBe(parsed.record.size_bytes);
      const expectedMs =
        parsed.record.received_at === null ? Number.NaN : Date.parse(parsed.record.received_at);
      expect(batch.receivedMs[i]).toBe(expectedMs);
    });
    expect(batch.tail.map((t) => t.record.episode_id)).toEqual([
      'a',
      '7',
      'c',
      'd',
      'e',
      'f"q',
      'g\u2028h',
      'i',
    ]);
    expect(batch.rejected.map((r) => r.reason)).toEqual([
      'malformed_json',
      'not_object',
      'missing_fields',
      'missing_fields',
      'malformed_json',
      'malformed_json',
    ]);
  });

  it('builds the same batch over columns faulted in ahead (the scanner thread’s spares)', () => {
    const lines = [
      '{"episode_id":"a","host_id":"h1","sha256":"ab","size_bytes":10,"received_at_wall":"2026-11-01T10:00:00.000Z"}',
      'not json',
      '{"episode_id":"b","host_id":"h2","size_bytes":-1,"received_at_wall":1795000000,"extra":[1]}',
      '{"episode_id":"a","host_id":"h1","sha256":"ab","size_bytes":10,"received_at_wall":"2026-11-01T10:00:00.000Z"}',
    ];
    const fresh = new CompactBatchBuilder(16);
    // Less room (16 lines) than the batch needs (40): the given columns grow as new ones do.
    const spare = new CompactBatchBuilder(16, faultedColumns(16));
    for (const line of Array.from({ length: 10 }, () => lines).flat()) {
      fresh.addLine(line);
      spare.addLine(line);
    }
    expect(spare.finish()).toEqual(fresh.finish());
  });

  it('defers the same tail into room given with the columns, or into its own when it does not fit', () => {
    const line = (i: number) =>
      `{"episode_id":"e${i}","host_id":"h${i % 3}","sha256":"ab","size_bytes":${i},"received_at_wall":"2026-11-01T10:00:00.000Z"}`;
    const bytes = Buffer.from(`${Array.from({ length: 900 }, (_, i) => line(i)).join('\n')}\n`);
    const scan = (columns?: ReturnType<typeof faultedColumns>) => {
      const builder = new CompactBatchBuilder(1000, columns);
      builder.deferTail = true;
      const batch = scanIndexRange(bytes, 0, MAX_LINE_BYTES, builder).batch;
      return { ...batch, tailBytes: Array.from(batch.tailBytes ?? []) };
    };
    const fresh = scan();
    expect(fresh.tailBytes.length).toBeGreaterThan(0);
    expect(scan(faultedColumns(1000, 1000, bytes.length))).toEqual(fresh);
    expect(scan(faultedColumns(1000, 1000, 10))).toEqual(fresh);
  });
});

describe('sumsWithout', () => {
  it('gives the sums of the lines left, as summing them again does', () => {
    // Hosts with few lines (so a skipped line is often a host's newest, or its only one), times
    // missing or repeated, sizes missing, huge or past exact integers.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const lines: string[] = [];
      const n = 1 + rand(40);
      for (let i = 0; i < n; i++) {
        const size = [null, rand(1000), 2 ** 53 - rand(3), 1e300][rand(4)];
        const at = rand(5) === 0 ? null : 1_795_000_000 + rand(6);
        const valid = rand(8) !== 0;
        lines.push(
          valid
            ? JSON.stringify({
                episode_id: `e${i}`,
                host_id: `h${rand(4)}`,
                size_bytes: size,
                received_at_wall: at,
              })
            : 'not json',
        );
      }
      const batch = compactIndexBatch(lines);
      const skip = Array.from({ length: n }, (_, i) => i).filter(() => rand(3) === 0);
      const want = {
        episodes: new Float64Array(batch.hosts.length),
        bytes: new Float64Array(batch.hosts.length),
        lastMs: new Float64Array(batch.hosts.length).fill(Number.NaN),
      };
      for (let i = 0; i < n; i++) {
        if (batch.status[i] !== LINE_OK || skip.includes(i)) continue;
        const h = batch.host[i] as number;
        want.episodes[h] = (want.episodes[h] as number) + 1;
        if (!Number.isNaN(batch.size[i]))
          want.bytes[h] = (want.bytes[h] as number) + (batch.size[i] as number);
        want.lastMs[h] = newerMs(want.lastMs[h] as number, batch.receivedMs[i] as number);
      }
      expect(sumsWithout(batch, skip)).toEqual(want);
    }
  });
});
