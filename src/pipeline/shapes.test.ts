/**
 * Issue 12's property: the same records written in many JSON shapes — separators, key orders,
 * escapes, number forms, whitespace, the time forms a Python receiver writes — give one live
 * state, one catalog (row for row) and one stream of events, through the whole pipeline: the
 * ranged first pass on two threads, the catalog writer thread, and live tailing after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { testPipeline } from '../../test/support/pipeline.js';
import { tempDir } from '../../test/support/tmp.js';
import type { DashboardEvent } from '../protocol/index.js';

/** A record as a receiver holds it before writing: values in JSON's model plus NaN/±Infinity. */
type Value = string | number | boolean | null | Value[] | { [k: string]: Value };
type Rec = Array<[string, Value]>;

interface Shape {
  name: string;
  /** Python's `", "` / `": "` or JSON.stringify's `","` / `":"`, or odd whitespace. */
  comma: string;
  colon: string;
  order: 'given' | 'sorted' | 'reversed';
  /** `\uXXXX` for every non-ASCII character and for `-` in strings (ensure_ascii and beyond). */
  escapeAll: boolean;
  /** `/` written as `\/`. */
  escapeSlash: boolean;
  /** Integral sizes as `1234`, `1234.0` or `1.234e3`. */
  size: 'int' | 'float' | 'exp';
  time: 'isoZ' | 'isoMicrosUtc' | 'offset' | 'epoch' | 'naive' | 'space';
  /** Whitespace before the object and a `\r` after it. */
  pad: boolean;
}

const SHAPES: Shape[] = [
  {
    name: 'compact',
    comma: ',',
    colon: ':',
    order: 'given',
    escapeAll: false,
    escapeSlash: false,
    size: 'int',
    time: 'isoZ',
    pad: false,
  },
  {
    name: 'python json.dumps',
    comma: ', ',
    colon: ': ',
    order: 'given',
    escapeAll: false,
    escapeSlash: false,
    size: 'int',
    time: 'isoMicrosUtc',
    pad: false,
  },
  {
    name: 'sorted keys, ensure_ascii, epoch floats',
    comma: ', ',
    colon: ': ',
    order: 'sorted',
    escapeAll: true,
    escapeSlash: false,
    size: 'float',
    time: 'epoch',
    pad: false,
  },
  {
    name: 'reversed keys, escaped slashes, offsets',
    comma: ',',
    colon: ': ',
    order: 'reversed',
    escapeAll: false,
    escapeSlash: true,
    size: 'exp',
    time: 'offset',
    pad: false,
  },
  {
    name: 'odd whitespace, naive times',
    comma: ' ,\t',
    colon: ' : ',
    order: 'given',
    escapeAll: true,
    escapeSlash: true,
    size: 'int',
    time: 'naive',
    pad: true,
  },
  {
    name: 'space for T',
    comma: ', ',
    colon: ': ',
    order: 'sorted',
    escapeAll: false,
    escapeSlash: false,
    size: 'float',
    time: 'space',
    pad: false,
  },
];

/** A JSON string in the shape's escaping. */
function str(s: string, shape: Shape): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '/' && shape.escapeSlash) out += '\\/';
    else if (c < 0x20 || (shape.escapeAll && (c >= 0x7f || ch === '-'))) {
      // Astral characters as a surrogate pair, as Python writes them.
      for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return String(n);
}

function value(v: Value, shape: Shape): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string') return str(v, shape);
  if (Array.isArray(v)) return `[${v.map((x) => value(x, shape)).join(shape.comma)}]`;
  return object(Object.entries(v), shape);
}

function object(entries: Rec, shape: Shape): string {
  const ordered =
    shape.order === 'sorted'
      ? [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      : shape.order === 'reversed'
        ? [...entries].reverse()
        : entries;
  return `{${ordered.map(([k, v]) => `${str(k, shape)}${shape.colon}${value(v, shape)}`).join(shape.comma)}}`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The instant `ms` in the shape's time form (all name the same millisecond). */
function time(ms: number, shape: Shape): Value {
  const iso = new Date(ms).toISOString(); // 2026-11-01T10:00:00.123Z
  const base = iso.slice(0, 19);
  const frac = iso.slice(20, 23);
  switch (shape.time) {
    case 'isoZ':
      return iso;
    case 'isoMicrosUtc':
      return `${base}.${frac}456+00:00`;
    case 'epoch':
      return ms / 1000;
    case 'naive':
      return `${base}.${frac}`;
    case 'space':
      return `${base.replace('T', ' ')}.${frac}+00:00`;
    case 'offset': {
      // The same instant as local time at +05:30.
      const local = new Date(ms + 330 * 60_000);
      const l = `${local.getUTCFullYear()}-${pad2(local.getUTCMonth() + 1)}-${pad2(local.getUTCDate())}T${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}`;
      return `${l}.${frac}+05:30`;
    }
  }
}

function line(entries: Rec, shape: Shape): string {
  const body = object(entries, shape);
  return shape.pad ? ` \t${body} \r\n` : `${body}\n`;
}

/** Deterministic draws (a shape-independent record set). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOSTS = ['h1', 'hôte', 'ws-müller-2', 'rack3-gpu-node17.cis490.lab', 'WS-ENG-0042', 'émoji-🛰'];
const EXTRAS: Rec[] = [
  [],
  [['receiver_version', '2.3.1']],
  [['meta', { tags: ['a', 'b/c'], note: 'say "hi" \\ back/slash ü' }]],
  [['ratio', Number.NaN]],
  [
    ['lag_seconds', Number.POSITIVE_INFINITY],
    ['ok', true],
    ['n', null],
  ],
  [['list', [1, 2.5, -3e-7, false]]],
];

/** An index record: the known fields in a receiver's order, then some extra keys. */
function episode(i: number, draw: () => number, shape: Shape, ms: number): string {
  const host = HOSTS[Math.floor(draw() * HOSTS.length)] as string;
  const id = `ep-${String(i).padStart(5, '0')}-${host}`;
  const size = 1000 + Math.floor(draw() * 100_000);
  const sha =
    draw() < 0.1
      ? null
      : Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(draw() * 16)]).join('');
  const entries: Rec = [
    ['episode_id', id],
    ['host_id', host],
    ['sha256', sha],
    ['size_bytes', size],
    ['received_at_wall', time(ms, shape)],
  ];
  if (draw() < 0.5) entries.push(['path', `episodes/${host}/${id}.tar.zst`]);
  entries.push(...(EXTRAS[Math.floor(draw() * EXTRAS.length)] as Rec));
  let text = line(entries, shape);
  // Integral sizes as floats or with an exponent: the number's text, not its value, changes.
  const sizeAt = `"size_bytes"${shape.colon}${size}`;
  if (shape.size === 'float') text = text.replace(sizeAt, `${sizeAt}.0`);
  if (shape.size === 'exp') text = text.replace(sizeAt, `"size_bytes"${shape.colon}${size / 1000}e3`);
  return text;
}

function alert(i: number, draw: () => number, shape: Shape, ms: number): string {
  const host = HOSTS[Math.floor(draw() * HOSTS.length)] as string;
  const symptom = ['disk_low', 'queue_backlog', 'clock/skew'][i % 3] as string;
  const entries: Rec = [
    ['dedup_key', `${host}:${symptom}`],
    ['detail', `${symptom} on ${host}: value ${(draw() * 10).toFixed(3)}`],
    ['detected_at_wall', time(ms, shape)],
    ['host', host],
    ['severity', i % 2 ? 'critical' : 'warning'],
    ['suggested_fix', 'check the host'],
    ['symptom', symptom],
  ];
  return line(entries, shape);
}

const FIRST_PASS = 240;
const LIVE = 40;
const ALERTS = 30;
const T0 = Date.UTC(2026, 10, 1, 10, 0, 0);

/** Every line of the index and the alerts in one shape: the same records, drawn alike. */
function write(shape: Shape): { index: string[]; alerts: string[] } {
  const draw = rng(12);
  const index: string[] = [];
  for (let i = 0; i < FIRST_PASS + LIVE; i++) {
    const ms = T0 + i * 1_237 + Math.floor(draw() * 1000);
    index.push(episode(i, draw, shape, ms));
  }
  // A receiver re-logging two uploads: once in the first pass, once live.
  index.splice(FIRST_PASS - 10, 0, index[3] as string);
  index.splice(FIRST_PASS + 20, 0, index[FIRST_PASS + 5] as string);
  const adraw = rng(99);
  const alerts = Array.from({ length: ALERTS }, (_, i) => alert(i, adraw, shape, T0 + i * 60_000 + 7));
  return { index, alerts };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs the pipeline on one shape: first pass, then live appends; returns what a user can see. */
async function observe(shape: Shape) {
  const dir = tempDir('cis490-shapes-');
  dirs.push(dir);
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'episodes'), { recursive: true });
  fs.mkdirSync(path.join(root, 'health'), { recursive: true });
  const { index, alerts } = write(shape);
  const firstPassLines = FIRST_PASS + 1;
  fs.writeFileSync(path.join(root, 'index.jsonl'), index.slice(0, firstPassLines).join(''));
  fs.writeFileSync(path.join(root, 'alerts.jsonl'), alerts.slice(0, ALERTS / 2).join(''));
  // Many small ranges: the first pass runs on two threads, as on a large index.
  const pipeline = testPipeline(root, path.join(dir, 'state'), { firstPassRangeBytes: 4096 });
  const events: DashboardEvent[] = [];
  const unsubscribe = pipeline.bus.subscribe((e) => events.push(e));
  await pipeline.start();
  try {
    await pipeline.whenCatalogCaughtUp();
    fs.appendFileSync(path.join(root, 'index.jsonl'), index.slice(firstPassLines).join(''));
    fs.appendFileSync(path.join(root, 'alerts.jsonl'), alerts.slice(ALERTS / 2).join(''));
    const liveEpisodes = LIVE; // the live lines hold one repeat
    await vi.waitFor(
      () => {
        expect(events.filter((e) => e.type === 'episode')).toHaveLength(liveEpisodes);
        expect(events.filter((e) => e.type === 'alert')).toHaveLength(ALERTS / 2);
      },
      { timeout: 20_000, interval: 20 },
    );
    await pipeline.whenCatalogCaughtUp();
    // What a client sees: JSON on the wire (NaN and ±Infinity go out as null), seq aside.
    const wire = (x: unknown) => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;
    const liveEvents = events
      .filter((e) => e.type === 'episode' || e.type === 'alert')
      .map((e) => {
        const { seq: _seq, ...rest } = wire(e);
        return rest;
      });
    const { integrity: _i, health: _h, ...state } = wire(pipeline.live.snapshot());
    const episodeRows = pipeline.db
      .prepare(
        'SELECT episode_id, host_id, sha256, size_bytes, received_at, received_ms, path, extra, duplicates FROM episodes ORDER BY id',
      )
      .all() as Array<{ extra: string | null; duplicates: number }>;
    const alertRows = pipeline.db
      .prepare(
        'SELECT host_id, symptom, detail, suggested_fix, detected_at, detected_ms, dedup_key, extra FROM alerts ORDER BY id',
      )
      .all() as Array<{ extra: string | null }>;
    // Extra keys as JSON (any key order), read back as the episode detail reads them.
    const parsed = <T extends { extra: string | null }>(rows: T[]) =>
      rows.map((r) => ({ ...r, extra: r.extra === null ? null : (JSON.parse(r.extra) as unknown) }));
    return { state, liveEvents, episodes: parsed(episodeRows), alerts: parsed(alertRows) };
  } finally {
    unsubscribe();
    await pipeline.stop();
  }
}

describe('the same records in many JSON shapes', () => {
  it('give one live state, one catalog row for row and one stream of events', async () => {
    const seen = [];
    for (const shape of SHAPES) seen.push({ shape: shape.name, ...(await observe(shape)) });
    const [first, ...rest] = seen as [(typeof seen)[number], ...typeof seen];
    // The reference is sane: every distinct id once, repeats counted, NaN extras as null.
    expect(first.episodes).toHaveLength(FIRST_PASS + LIVE);
    expect(first.episodes.filter((r) => r.duplicates === 1)).toHaveLength(2);
    expect(first.alerts).toHaveLength(ALERTS);
    expect(first.state).toMatchObject({ total_episodes: FIRST_PASS + LIVE, total_alerts: ALERTS });
    expect(first.episodes.some((r) => JSON.stringify(r.extra) === '{"ratio":null}')).toBe(true);
    for (const other of rest) {
      expect(other.episodes, `catalog episodes, ${other.shape}`).toEqual(first.episodes);
      expect(other.alerts, `catalog alerts, ${other.shape}`).toEqual(first.alerts);
      expect(other.state, `live state, ${other.shape}`).toEqual(first.state);
      // Each file's events in its order; which of the two files' readers wakes first is not fixed.
      for (const type of ['episode', 'alert'])
        expect(
          other.liveEvents.filter((e) => e.type === type),
          `${type} events, ${other.shape}`,
        ).toEqual(first.liveEvents.filter((e) => e.type === type));
    }
  }, 120_000);
});
