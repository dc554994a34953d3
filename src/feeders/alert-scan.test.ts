/**
 * A cold start's byte-wise pass over `alerts.jsonl` against the tailer's path (its splitter, then
 * `parseAlertLine` per line, as `JsonlFeeder` reads a batch): the same lines, alerts, skips and
 * invalid-UTF-8 count, the same recent window and hosts' last alerts, and the catalog writer's
 * rows the same records in the same order.
 */
import { describe, expect, it } from 'vitest';
import { type AlertRecord, RECENT_LIMIT } from '../protocol/index.js';
import { alertRecordsOfRange, scanAlertRange } from './alert-scan.js';
import { parseAlertLine } from './records.js';
import { type LineSink, splitLines } from './tail/lines.js';

/** What the tailer's path makes of the same bytes. */
function byTailer(chunk: Buffer, fileOffset: number, maxLineBytes: number) {
  const sink: LineSink = { lines: [], skipped: [] };
  splitLines(chunk, 0, chunk.lastIndexOf(0x0a), fileOffset, maxLineBytes, sink);
  const skipped: Record<string, number> = {};
  let invalidUtf8Lines = 0;
  for (const s of sink.skipped) {
    if (s.reason === 'invalid_utf8') invalidUtf8Lines++;
    else skipped[s.reason] = (skipped[s.reason] ?? 0) + 1;
  }
  const records: AlertRecord[] = [];
  for (const line of sink.lines) {
    const r = parseAlertLine(line);
    if (r.ok) records.push(r.record);
    else skipped[r.reason] = (skipped[r.reason] ?? 0) + 1;
  }
  const hostLast = new Map<string, AlertRecord>();
  for (const r of records) if (r.host_id !== null) hostLast.set(r.host_id, r);
  return {
    lines: sink.lines.length,
    accepted: records.length,
    skipped,
    invalidUtf8Lines,
    recent: records.slice(-RECENT_LIMIT),
    hostLast: [...hostLast.values()],
    records,
  };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOSTS = ['h1', 'ws-müller-2', 'rack3-gpu-node17.cis490.lab', 'lab-pc-α', '10-0-3-17'];
const TIMES = [
  '"2026-09-21T16:13:20+02:00"',
  '"2026-09-21T14:14:20.123456+00:00"',
  '"2026-09-21T14:15:50"',
  '1790000090.0',
  '1790000090',
  '"2026-12-01T10:00:00.000Z"',
  'null',
];

/** An alert line in one of the shapes a receiver writes (Python's separators, key orders, escapes). */
function alertLine(i: number, draw: () => number): string {
  const host = HOSTS[Math.floor(draw() * HOSTS.length)] as string;
  const symptom = ['disk_low', 'sensor_gap', 'clock/skew'][i % 3] as string;
  const fields: Array<[string, string]> = [
    ['host', JSON.stringify(host)],
    ['symptom', JSON.stringify(symptom)],
    ['detail', JSON.stringify(`${symptom} on ${host}: "value" ${(draw() * 10).toFixed(3)} \\ ü`)],
    ['suggested_fix', JSON.stringify('check the host')],
    ['detected_at_wall', TIMES[i % TIMES.length] as string],
    ['dedup_key', JSON.stringify(`${host}:${symptom}`)],
  ];
  if (i % 5 === 0) fields.push(['severity', '"critical"'], ['meta', '{"tags": ["a", "b"], "n": NaN}']);
  if (i % 7 === 0) fields.reverse();
  const python = i % 2 === 0;
  const body = fields.map(([k, v]) => `"${k}"${python ? ': ' : ':'}${v}`).join(python ? ', ' : ',');
  // ensure_ascii: every non-ASCII character as \uXXXX.
  const text =
    i % 3 === 0
      ? body.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
      : body;
  return `{${text}}${i % 11 === 0 ? '\r' : ''}\n`;
}

/** Lines that are not alerts, or that only the tailer's splitter reads. */
const ODD_LINES: Buffer[] = [
  Buffer.from('{"host": "h1", "symptom": "x", "detected_at_wall": "2026-02-30T10:00:00"}\n'), // invalid_time
  Buffer.from('{"host": "h1", "symptom": \n'), // malformed_json
  Buffer.from('[1, 2, 3]\n'), // not_object
  Buffer.from('\n'), // blank: not a line
  Buffer.from('   \r\n'),
  Buffer.concat([Buffer.alloc(6), Buffer.from('{"host": "h2", "symptom": "after padding"}\n')]), // nul_padding
  Buffer.concat([
    Buffer.from('{"host": "h3", "detail": "bad '),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('"}\n'),
  ]), // invalid_utf8
  Buffer.from(`{"host": "h4", "detail": "${'x'.repeat(300)}"}\n`), // over the limit below
  Buffer.from('{"host": 42, "symptom": "numeric host"}\n'),
  Buffer.from('{"host": null, "symptom": "no host"}\n'),
  Buffer.from('{"symptom": "host missing", "detected_at_wall": 1790000000.5}\n'),
  Buffer.from('{"host": "h\\u00e9", "symptom": "escaped host"}\n'),
  Buffer.from('{"host": "h5", "host": "h6", "symptom": "repeated key"}\n'),
];

function chunkOf(n: number, seed: number, odd: boolean, bom = false): Buffer {
  const draw = rng(seed);
  const parts: Buffer[] = bom ? [Buffer.from([0xef, 0xbb, 0xbf])] : [];
  for (let i = 0; i < n; i++) {
    parts.push(Buffer.from(alertLine(i, draw)));
    if (odd && i % 37 === 0) parts.push(ODD_LINES[(i / 37) % ODD_LINES.length] as Buffer);
  }
  return Buffer.concat(parts);
}

const MAX_LINE = 256;

describe('scanAlertRange', () => {
  it.each([
    ['plain alerts, fewer than the recent window', chunkOf(120, 1, false), 0],
    ['many alerts with every odd line, past the window', chunkOf(900, 2, true), 4096],
    ['a BOM at the file start', chunkOf(50, 3, true, true), 0],
  ])('reads %s as the tailer would', (_name, chunk, fileOffset) => {
    const expected = byTailer(chunk, fileOffset, MAX_LINE);
    const got = scanAlertRange(chunk, fileOffset, MAX_LINE);
    expect(got.lines).toBe(expected.lines);
    expect(got.accepted).toBe(expected.accepted);
    expect(got.skipped).toEqual(expected.skipped);
    expect(got.invalidUtf8Lines).toBe(expected.invalidUtf8Lines);
    expect(got.recent).toEqual(expected.recent);
    expect(got.hostLast).toEqual(expected.hostLast);
    expect(alertRecordsOfRange(chunk, fileOffset, MAX_LINE)).toEqual(expected.records);
    // Every rejected line is counted by reason; a few of each have an excerpt for the log.
    const rejectedTotal = Object.values(got.rejectedCounts).reduce((a, b) => a + b, 0);
    const skippedTotal = Object.values(expected.skipped).reduce((a, b) => a + b, 0);
    expect(rejectedTotal).toBe(skippedTotal + expected.invalidUtf8Lines);
  });

  it('covers what it claims: skips of every kind, hosts of every form, and a trimmed window', () => {
    const chunk = chunkOf(900, 2, true);
    const got = scanAlertRange(chunk, 4096, MAX_LINE);
    expect(Object.keys(got.skipped).sort()).toEqual([
      'invalid_time',
      'line_too_long',
      'malformed_json',
      'not_object',
      'nul_padding',
    ]);
    expect(got.invalidUtf8Lines).toBeGreaterThan(0);
    expect(got.recent).toHaveLength(RECENT_LIMIT);
    const hosts = got.hostLast.map((a) => a.host_id);
    expect(hosts).toEqual(expect.arrayContaining(['42', 'hé', 'h6', 'ws-müller-2', 'lab-pc-α']));
    expect(hosts).not.toContain(null);
    expect(got.rejected.length).toBeLessThan(Object.values(got.rejectedCounts).reduce((a, b) => a + b, 0));
  });
});
