import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatCount, formatDuration, formatPercent } from './format.js';

describe('format', () => {
  it('groups counts and sizes the way a person reads them', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(null)).toBe('—');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1,023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12.3 * 1024 ** 3)).toBe('12.3 GiB');
    expect(formatPercent(0.4234)).toBe('42.3%');
  });

  it('says how long ago in the largest sensible unit', () => {
    const now = Date.parse('2026-05-08T13:00:00Z');
    expect(formatAgo('2026-05-08T12:57:00Z', now)).toBe('3 min ago');
    expect(formatAgo('2026-05-08T12:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-05-08T10:55:00Z', now)).toBe('2 h 5 min ago');
    expect(formatAgo('2026-05-01T13:00:00Z', now)).toBe('7 d ago');
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo('garbage', now)).toBe('unknown');
    expect(formatDuration(42)).toBe('42 s');
  });
});
