import { describe, expect, it } from 'vitest';
import { canonicalUtcMs, canonicalUtcMsAt, isCanonicalUtc, normalizeTimestamp } from './time.js';

describe('timestamps', () => {
  it('normalises ISO-8601 with offsets and epoch seconds to canonical UTC', () => {
    expect(normalizeTimestamp('2026-11-01T12:00:00+02:00')).toBe('2026-11-01T10:00:00.000Z');
    expect(normalizeTimestamp(1_795_000_000)).toBe('2026-11-18T11:06:40.000Z');
    expect(normalizeTimestamp('1795000000.5')).toBe('2026-11-18T11:06:40.500Z');
    expect(normalizeTimestamp('2026-11-01T10:00:00.123Z')).toBe('2026-11-01T10:00:00.123Z');
    expect(normalizeTimestamp('not a time')).toBeNull();
    expect(normalizeTimestamp(null)).toBeNull();
    expect(normalizeTimestamp(Number.NaN)).toBeNull();
  });

  it('passes canonical strings through only when every field is in range', () => {
    expect(isCanonicalUtc('2024-02-29T23:59:59.999Z')).toBe(true);
    expect(isCanonicalUtc('2025-02-29T00:00:00.000Z')).toBe(false);
    expect(isCanonicalUtc('2026-13-01T00:00:00.000Z')).toBe(false);
    expect(isCanonicalUtc('2026-11-01T24:00:00.000Z')).toBe(false);
    expect(isCanonicalUtc('2026-11-01 10:00:00.000Z')).toBe(false);
    // Out-of-range canonical-looking strings still go through the full parser.
    expect(normalizeTimestamp('2026-13-01T00:00:00.000Z')).toBeNull();
  });
});

describe('canonicalUtcMs', () => {
  it('agrees with Date.parse on canonical strings', () => {
    for (const s of [
      '1970-01-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z',
      '2026-11-29T10:18:41.123Z',
      '0999-12-31T01:02:03.004Z',
      '0050-06-15T12:00:00.000Z',
      '0004-02-29T00:00:00.000Z',
    ]) {
      expect(canonicalUtcMs(s)).toBe(Date.parse(s));
      // The byte reader's variant, at an offset inside a larger buffer.
      expect(canonicalUtcMsAt(Buffer.from(`xx${s}yy`, 'latin1'), 2)).toBe(Date.parse(s));
    }
    expect(canonicalUtcMs('2026-11-29T10:18:41Z')).toBeNaN();
  });
});
