import { describe, expect, it } from 'vitest';
import type { EpisodeListItem } from '../../../protocol/api.js';
import { csvField, toCsv, toNdjson } from './export.js';

const item: EpisodeListItem = {
  episode_id: 'ep,"1"',
  host_id: '=cmd|calc',
  sha256: 'ab',
  size_bytes: 10,
  received_at: '2026-05-08T12:00:00.000Z',
  status: 'ok',
};

describe('export', () => {
  it('quotes CSV fields and defuses spreadsheet formulas', () => {
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(csvField(null)).toBe('');
    expect(csvField(-5)).toBe('-5');
    expect(toCsv([item]).split('\r\n')[1]).toBe('"ep,""1""",\'=cmd|calc,ab,10,2026-05-08T12:00:00.000Z,ok,');
  });

  it('writes one JSON object per line', () => {
    const lines = toNdjson([item, item]).split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toEqual(item);
  });
});
