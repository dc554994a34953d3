import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  canonicalUtcMs,
  canonicalUtcMsAt,
  IMPOSSIBLE_TIME,
  isCanonicalUtc,
  isoFromMs,
  normalizeTimestamp,
  utcMs,
  wallMs,
  wallMsAt,
} from './time.js';

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

describe('utcMs', () => {
  // Years 0–9999 by arithmetic: every day of the years around the calendar's turns, both ends.
  it('is Date.UTC (years 0–99 as written) for every day of the years it computes', () => {
    const dateUtc = (y: number, m: number, d: number, h: number) =>
      y >= 100 ? Date.UTC(y, m - 1, d, h) : new Date(Date.UTC(2000, m - 1, d, h)).setUTCFullYear(y);
    const years = [0, 1, 3, 4, 99, 100, 399, 400, 1600, 1700, 1899, 1900, 1969, 1970, 2000, 2024, 2100, 9999];
    for (const y of years) {
      for (let m = 1; m <= 12; m++) {
        const days = new Date(Date.UTC(2000, m, 0)).getUTCDate() - (m === 2 ? 1 : 0);
        const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
        for (let d = 1; d <= days + (m === 2 && leap ? 1 : 0); d++) {
          for (const h of [0, 23]) expect(utcMs(y, m, d, h), `${y}-${m}-${d} ${h}`).toBe(dateUtc(y, m, d, h));
        }
      }
    }
  });
});

describe('wallMsAt', () => {
  const at = (s: string) => wallMsAt(Buffer.from(`>${s}<`, 'latin1'), 1, 1 + s.length);

  it('gives what Date.parse gives for ISO date-times with a fraction and an offset', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const two = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 3000; i++) {
      const date = `${String(random(10000)).padStart(4, '0')}-${two(1 + random(12))}-${two(1 + random(28))}`;
      const time = `${two(random(24))}:${two(random(60))}:${two(random(60))}`;
      const fraction =
        random(3) === 0
          ? ''
          : `.${String(random(1e9))
              .padStart(9, '0')
              .slice(0, 1 + random(9))}`;
      const zone = random(3) === 0 ? 'Z' : `${random(2) ? '+' : '-'}${two(random(24))}:${two(random(60))}`;
      const s = `${date}T${time}${fraction}${zone}`;
      expect(at(s), s).toBe(Date.parse(s));
    }
  });

  it('agrees with Date.parse along a day of times in order and out of order (hour after hour)', () => {
    const start = Date.UTC(2024, 1, 28, 22, 0, 0);
    const times: string[] = [];
    for (let t = start; t < start + 30 * 3_600_000; t += 997_003) times.push(new Date(t).toISOString());
    // Back and forth across hours, days, a leap day and month ends.
    const shuffled = times.flatMap((s, i) => [s, times[(i * 7) % times.length] as string]);
    for (const s of shuffled) {
      expect(at(s), s).toBe(Date.parse(s));
      const offset = `${s.slice(0, 19)}.123456+05:30`;
      expect(at(offset), offset).toBe(Date.parse(offset));
    }
  });

  it('reads every form a Python receiver writes; naive and date-only as UTC', () => {
    const utc = Date.parse('2023-11-14T22:13:20.123Z');
    for (const s of [
      '2023-11-14T22:13:20.123456+00:00', // isoformat(), aware
      '2023-11-14T22:13:20.123456', // isoformat(), naive
      '2023-11-14 22:13:20.123456+00:00', // str(datetime)
      '2023-11-14 22:13:20.123', // naive, space
      '2023-11-14t22:13:20,123Z',
      '2023-11-15T03:43:20.123+05:30',
      '2023-11-15T03:43:20.123+0530',
      '2023-11-14T14:13:20.123-08',
      '2023-11-14T22:13:20.1239999999Z',
      ' 2023-11-14T22:13:20.123Z\t',
      '1700000000.123',
    ]) {
      expect(at(s), s).toBe(utc);
      expect(wallMs(s), s).toBe(utc);
    }
    expect(at('2023-11-14')).toBe(Date.parse('2023-11-14T00:00:00Z'));
    expect(at('2023-11-14T22:13')).toBe(Date.parse('2023-11-14T22:13:00Z'));
    // An offset with seconds, as isoformat() writes for such zones.
    expect(at('2023-11-14T22:13:20+00:00:30')).toBe(Date.parse('2023-11-14T22:12:50Z'));
    expect(at('+275760-09-13T00:00:00.000Z')).toBe(8.64e15);
    expect(at('-000001-01-01T00:00:00.000Z')).toBe(Date.parse('-000001-01-01T00:00:00.000Z'));
    expect(wallMs(1700000000)).toBe(1.7e12);
  });

  it('calls impossible dates impossible instead of rolling them over', () => {
    for (const s of [
      '2026-02-30T00:00:00',
      '2023-02-29T00:00:00.000000+00:00',
      '2026-02-30',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2023-11-14T24:00:00.000000+00:00',
      '2023-11-14T23:60:00',
      '2023-11-14T23:59:60Z',
      '2023-11-14T22:13:20.123456+24:00',
      '2023-11-14T22:13:20+05:60',
    ]) {
      expect(at(s), s).toBe(IMPOSSIBLE_TIME);
      expect(normalizeTimestamp(s), s).toBeNull();
    }
    expect(at('2024-02-29T00:00:00')).toBe(Date.parse('2024-02-29T00:00:00Z'));
  });

  it('reads what is not a time as no time (NaN)', () => {
    for (const s of [
      'yesterday',
      '',
      '2023-11-14T22:13:20.+00:00',
      '2023-11-14T22:13:20Zjunk',
      '2023-11-14X22:13:20',
      '2023-1-14',
      '23-11-14',
      '1e9',
      '-000000-01-01T00:00:00Z',
      '2023-11-14T22:13:20+5',
    ]) {
      expect(at(s), s).toBeNaN();
    }
    expect(wallMs(Number.NaN)).toBeNaN();
    expect(wallMs(Number.POSITIVE_INFINITY)).toBeNaN();
    expect(wallMs(1e20)).toBeNaN();
    expect(wallMs(true)).toBeNaN();
    expect(wallMs('2023-11-14T22:13:20Ω')).toBeNaN();
  });
});

describe('naive times in another time zone', () => {
  it('are read as UTC whatever TZ the server runs in', () => {
    // A child process, so TZ is in force from its start; it runs the compiled module (the test
    // setup compiles src/ to dist/).
    const compiled = new URL('../../dist/util/time.js', import.meta.url).href;
    const script = `
      import { normalizeTimestamp } from ${JSON.stringify(compiled)};
      process.stdout.write(JSON.stringify([
        new Date(2026, 0, 1).getTimezoneOffset(),
        normalizeTimestamp('2026-01-01T12:00:00'),
        normalizeTimestamp('2026-01-01 12:00:00.5'),
        normalizeTimestamp('2026-01-01'),
      ]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TZ: 'America/New_York' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([
      300,
      '2026-01-01T12:00:00.000Z',
      '2026-01-01T12:00:00.500Z',
      '2026-01-01T00:00:00.000Z',
    ]);
  });
});

describe('isoFromMs', () => {
  it('is toISOString for every ms it formats itself and for the ones it hands over', () => {
    // Edges: the epoch, leap days, century years (1900 is not a leap year, 2000 is), the last
    // four-digit year, beyond it (+YYYYYY), before 1970, fractional ms.
    const edges = [
      0, 1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 253_402_300_799_999, 253_402_300_800_000, -1,
      -2_208_988_800_000, 1_790_000_000_123.7, 8.64e15, -8.64e15,
    ];
    let seed = 490;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const samples = Array.from({ length: 200_000 }, () =>
      Math.floor(random() * random() * 253_402_300_800_000),
    );
    const wrong = [...edges, ...samples].filter((ms) => isoFromMs(ms) !== new Date(ms).toISOString());
    expect(wrong).toEqual([]);
  });
});
