import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../../protocol/index.js';
import { groupAlerts } from './group.js';

const alert = (key: string | null, at: string, detail = 'd'): AlertRecord => ({
  host_id: 'h1',
  symptom: 's',
  detail,
  suggested_fix: 'f',
  detected_at: at,
  dedup_key: key,
});

describe('groupAlerts', () => {
  it('keeps the newest of each dedup_key with a repeat count and the first time seen', () => {
    const groups = groupAlerts([
      alert('k1', '2026-05-08T12:03:00Z', 'newest'),
      alert('k2', '2026-05-08T12:02:00Z'),
      alert('k1', '2026-05-08T12:01:00Z', 'older'),
      alert(null, '2026-05-08T12:00:00Z'),
      alert(null, '2026-05-08T11:00:00Z'),
    ]);
    expect(groups.map((g) => [g.dedup_key, g.count])).toEqual([
      ['k1', 2],
      ['k2', 1],
      [null, 1],
      [null, 1],
    ]);
    expect(groups[0]?.detail).toBe('newest');
    expect(groups[0]?.first_seen).toBe('2026-05-08T12:01:00Z');
  });
});
