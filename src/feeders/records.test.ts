import { describe, expect, it } from 'vitest';
import { parseAlertLine, parseIndexBytes, parseIndexLine, parseIndexLineFully } from './records.js';

describe('parseIndexLine', () => {
  it('normalises an index line and keeps unknown fields', () => {
    const r = parseIndexLine(
      JSON.stringify({
        episode_id: 'ep-1',
        host_id: 'h1',
        sha256: 'ab',
        size_bytes: 10,
        received_at_wall: 1700000000,
        path: 'episodes/h1/ep-1.tar.zst',
        shipper: 'v2',
      }),
    );
    expect(r).toEqual({
      ok: true,
      record: {
        episode_id: 'ep-1',
        host_id: 'h1',
        sha256: 'ab',
        size_bytes: 10,
        received_at: '2023-11-14T22:13:20.000Z',
        path: 'episodes/h1/ep-1.tar.zst',
        extra: { shipper: 'v2' },
      },
    });
  });

  it('accepts ISO-8601 and epoch-second timestamps alike', () => {
    const iso = parseIndexLine(
      '{"episode_id":"a","host_id":"h","received_at_wall":"2026-11-01T12:00:00+01:00"}',
    );
    expect(iso.ok && iso.record.received_at).toBe('2026-11-01T11:00:00.000Z');
    const bad = parseIndexLine('{"episode_id":"a","host_id":"h","received_at_wall":"yesterday"}');
    expect(bad.ok && bad.record.received_at).toBeNull();
  });

  it('skips null, arrays, scalars and malformed JSON with a reason (seed defect 6)', () => {
    expect(parseIndexLine('null')).toEqual({ ok: false, reason: 'not_object' });
    expect(parseIndexLine('[1,2]')).toEqual({ ok: false, reason: 'not_object' });
    expect(parseIndexLine('"x"')).toEqual({ ok: false, reason: 'not_object' });
    expect(parseIndexLine('{"episode_id":')).toEqual({ ok: false, reason: 'malformed_json' });
    expect(parseIndexLine('{"episode_id":"a"}')).toEqual({ ok: false, reason: 'missing_fields' });
  });

  it('keeps U+2028, U+2029 and U+0085 inside strings (seed defect 7)', () => {
    const r = parseIndexLine(JSON.stringify({ episode_id: 'a\u2028b\u2029c\u0085d', host_id: 'h' }));
    expect(r.ok && r.record.episode_id).toBe('a\u2028b\u2029c\u0085d');
  });

  it('drops a negative or non-numeric size rather than corrupting the byte total', () => {
    const r = parseIndexLine('{"episode_id":"a","host_id":"h","size_bytes":"12"}');
    expect(r.ok && r.record.size_bytes).toBeNull();
    const n = parseIndexLine('{"episode_id":"a","host_id":"h","size_bytes":-5}');
    expect(n.ok && n.record.size_bytes).toBeNull();
  });
});

describe("Python's json.dumps lines", () => {
  const py = (fields: string) =>
    parseIndexLine(`{"episode_id": "ep-1", "host_id": "h\\u00f4te", "sha256": "ab", ${fields}}`);

  it('reads the separators, escapes and isoformat times a Python receiver writes', () => {
    const r = py('"size_bytes": 1024, "received_at_wall": "2026-11-01T10:00:00.123456+00:00"');
    expect(r).toEqual({
      ok: true,
      record: {
        episode_id: 'ep-1',
        host_id: 'hôte',
        sha256: 'ab',
        size_bytes: 1024,
        received_at: '2026-11-01T10:00:00.123Z',
      },
    });
  });

  it('accepts NaN, Infinity and -Infinity where json.dumps writes them (issue 14 item 7)', () => {
    const nanSize = py('"size_bytes": NaN, "received_at_wall": 1793527200.5');
    expect(nanSize.ok && nanSize.record.size_bytes).toBeNull();
    expect(nanSize.ok && nanSize.record.received_at).toBe('2026-11-01T10:00:00.500Z');
    const infTime = py('"size_bytes": Infinity, "received_at_wall": -Infinity');
    expect(infTime.ok && [infTime.record.size_bytes, infTime.record.received_at]).toEqual([null, null]);
    const extra = py('"size_bytes": 1, "temp": NaN, "lag": [Infinity, -Infinity]');
    expect(extra.ok && extra.record.extra).toEqual({ temp: Number.NaN, lag: [Infinity, -Infinity] });
    // An id that is NaN is no id.
    expect(parseIndexLine('{"episode_id": NaN, "host_id": "h"}')).toEqual({
      ok: false,
      reason: 'missing_fields',
    });
    // Only where Python reads them: not quoted-less elsewhere, not glued to another token.
    for (const bad of [
      '{"episode_id": "a", "host_id": "h", "x": nan}',
      '{"episode_id": "a", "host_id": "h", "x": -NaN}',
      '{"episode_id": "a", "host_id": "h", "x": NaN1}',
    ]) {
      expect(parseIndexLine(bad), bad).toEqual({ ok: false, reason: 'malformed_json' });
    }
    const alert = parseAlertLine(
      '{"host": "h", "symptom": NaN, "detail": Infinity, "detected_at_wall": NaN}',
    );
    expect(alert.ok && [alert.record.symptom, alert.record.detail, alert.record.detected_at]).toEqual([
      'NaN',
      'Infinity',
      null,
    ]);
  });

  it('reads a naive time as UTC and rejects an impossible date as a bad line (issue 14 item 8)', () => {
    const naive = py('"received_at_wall": "2026-11-01T10:00:00"');
    expect(naive.ok && naive.record.received_at).toBe('2026-11-01T10:00:00.000Z');
    expect(py('"received_at_wall": "2026-02-30T00:00:00"')).toEqual({ ok: false, reason: 'invalid_time' });
    expect(parseAlertLine('{"host": "h", "detected_at_wall": "2026-13-01 00:00:00"}')).toEqual({
      ok: false,
      reason: 'invalid_time',
    });
  });

  it('leaves nesting deeper than the scanner goes to the full parse, with the same result', () => {
    const deep = `${'['.repeat(200)}1${']'.repeat(200)}`;
    const r = parseIndexLine(`{"episode_id": "a", "host_id": "h", "deep": ${deep}}`);
    expect(r.ok && JSON.stringify(r.record.extra)).toBe(`{"deep":${deep}}`);
  });
});

describe('parseAlertLine', () => {
  it('maps host → host_id and detected_at_wall → detected_at', () => {
    const r = parseAlertLine(
      JSON.stringify({
        host: 'h2',
        symptom: 'disk_low',
        detail: '<img src=x onerror=alert(1)>',
        suggested_fix: 'free space',
        detected_at_wall: '2026-11-01T00:00:00Z',
        dedup_key: 'h2:disk',
      }),
    );
    expect(r).toEqual({
      ok: true,
      record: {
        host_id: 'h2',
        symptom: 'disk_low',
        detail: '<img src=x onerror=alert(1)>',
        suggested_fix: 'free space',
        detected_at: '2026-11-01T00:00:00.000Z',
        dedup_key: 'h2:disk',
      },
    });
  });
});

describe('a line cut off mid-write with the next one behind it', () => {
  const next =
    '{"episode_id": "ep-after", "host_id": "host-02", "size_bytes": 10, "extra": {"k": [1, {"a": 2}]}}';

  it('keeps the episode after the fragment and says what was dropped', () => {
    for (const fragment of [
      '{"episode_id": "ep-cut", "host_id": "host-0',
      '{"episode_id":"ep-cut","meta":{"k":1',
      '{"episode_id": "ep-cut", "note": "has { and {\\"q\\": inside',
      '{',
    ]) {
      const r = parseIndexLine(fragment + next);
      expect(r.ok, fragment).toBe(true);
      if (!r.ok) continue;
      expect(r.record).toEqual((parseIndexLine(next) as { record: unknown }).record);
      expect(r.torn).toBe(fragment);
    }
  });

  it('leaves a line malformed when no tail of it is an episode', () => {
    expect(parseIndexLine('{"episode_id": "ep-cut", "host_id": "h{"a": 1}')).toEqual({
      ok: false,
      reason: 'malformed_json',
    });
    // A whole object after the fragment, but not an episode (no host).
    expect(parseIndexLine('{"episode_id": "x{"episode_id": "y"}')).toEqual({
      ok: false,
      reason: 'malformed_json',
    });
    expect(parseIndexLine('not json at all')).toEqual({ ok: false, reason: 'malformed_json' });
    // A line cut short by its last brace: the object is its value, not a line of its own.
    for (const line of [
      '{"episode_id": "a", "host_id": "h", "x": {"episode_id": "b", "host_id": "c"}',
      '{"episode_id": "a", "host_id": "h", "x": [1, {"episode_id": "b", "host_id": "c"}',
    ]) {
      expect(parseIndexLine(line), line).toEqual({ ok: false, reason: 'malformed_json' });
    }
  });

  it('gives whole lines no torn mark', () => {
    const r = parseIndexLine(next);
    expect(r.ok && r.torn).toBe(undefined);
  });
});

describe('size_bytes', () => {
  it('is no size beyond 2^53 − 1 (no exact byte count), and kept up to it', () => {
    const line = (size: string) => `{"episode_id": "e", "host_id": "h", "size_bytes": ${size}}`;
    const size = (text: string) => {
      const r = parseIndexLine(line(text));
      return r.ok ? r.record.size_bytes : 'rejected';
    };
    expect(size('9007199254740991')).toBe(9007199254740991);
    expect(size('9007199254740993')).toBe(null);
    expect(size('1e300')).toBe(null);
    expect(size('12.9')).toBe(12);
  });
});

describe('surrogate escapes', () => {
  it('reads a lone one as U+FFFD on every path, and keeps a pair as its character', () => {
    const lone =
      '{"episode_id": "ep-\\ud800x", "host_id": "host-\\udc01", "extra": {"k\\udbff": ["\\ud83d"]}}';
    const r = parseIndexLine(lone);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record.episode_id).toBe('ep-\ufffdx');
    expect(r.record.host_id).toBe('host-\ufffd');
    expect(r.record.extra).toEqual({ extra: { 'k\ufffd': ['\ufffd'] } });
    expect(parseIndexLineFully(lone)).toEqual(r);
    // The bytes path declines it (the full parse decides), so both give the same record.
    const b = Buffer.from(`${lone}\n`);
    expect(parseIndexBytes(b, 0)).toEqual(r);
    const pair = parseIndexLine('{"episode_id": "ep-\\ud83d\\ude00", "host_id": "h"}');
    expect(pair.ok && pair.record.episode_id).toBe('ep-😀');
  });
});
