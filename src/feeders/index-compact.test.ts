import { describe, expect, it } from 'vitest';
import { hash64 } from './id-hash-set.js';
import { compactIndexBatch, SKIP_CODES } from './index-compact.js';
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
      expect(batch.receivedMs[i]).toBe(Date.parse(parsed.record.received_at as string));
    });
    expect(batch.tail.map((t) => t.record.episode_id)).toEqual(['a', '7', 'c']);
    expect(batch.rejected.map((r) => r.reason)).toEqual(['malformed_json', 'not_object', 'missing_fields']);
  });
});
