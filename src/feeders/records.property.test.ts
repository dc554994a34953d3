import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { openDatabase } from '../catalog/db.js';
import { EpisodeStore, episodeFromRow } from '../catalog/ingest-store.js';
import { EPISODE_PATH } from '../catalog/schema.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { wallMs } from '../util/time.js';
import { FirstPassLoader, type FirstPassSource, rawLines, sharedFd } from './first-pass.js';
import { hash64, IdHashSet } from './id-hash-set.js';
import { IndexAggregates } from './index-aggregates.js';
import {
  type CompactIndexBatch,
  compactIndexBatch,
  deferredTail,
  LINE_OK,
  ROW,
  ROW_FIELDS,
  SKIP_CODES,
} from './index-compact.js';
import { MAX_LINE_BYTES, planIndexRanges } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';
import { JsonLineScanner } from './json-line.js';
import {
  INDEX_FIELDS,
  type ParseResult,
  parseAlertLine,
  parseAlertLineFully,
  parseIndexLine,
  parseIndexLineFully,
  scanText,
} from './records.js';
import { prestartScanner, releasePrestartedScanner } from './scanner-prestart.js';

/**
 * The scanner against the full parse (JSON.parse plus Python's constants), over generated lines
 * of every shape: random key order, whitespace, escapes (surrogate pairs, lone surrogates),
 * non-ASCII, extra keys of every JSON type, numbers and times in every form, damaged lines.
 */

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type R = ReturnType<typeof rng>;

const WS = ['', '', '', ' ', ' ', '\t', '\r', '  ', ' \t '];
const ws = (r: R) => (r.chance(0.3) ? r.pick(WS) : '');

const CHARS = [
  'a',
  'Z',
  '0',
  '-',
  '_',
  '/',
  '"',
  '\\',
  ' ',
  'é',
  'ß',
  '中',
  '😀',
  '\u2028',
  '\u0085',
  '\n',
  '\t',
  '\u0001',
  '\u007f',
  '\ud800',
  '\udc00',
];

function randomText(r: R, max = 8): string {
  let s = '';
  const n = r.int(max + 1);
  for (let i = 0; i < n; i++) s += r.chance(0.7) ? String.fromCharCode(97 + r.int(26)) : r.pick(CHARS);
  return s;
}

/** A JSON string literal for `s`, each character raw or escaped at random. */
function encodeString(r: R, s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const raw = s[i] as string;
    const lone = c >= 0xd800 && c <= 0xdfff;
    const mustEscape = c < 0x20 || c === 0x22 || c === 0x5c;
    const short: Record<string, string> = {
      '"': '\\"',
      '\\': '\\\\',
      '\n': '\\n',
      '\t': '\\t',
      '/': '\\/',
      '\b': '\\b',
    };
    if (!mustEscape && !lone && r.chance(0.8)) out += raw;
    else if (short[raw] && r.chance(0.5)) out += short[raw];
    else {
      const hex = c.toString(16).padStart(4, '0');
      out += `\\u${r.chance(0.5) ? hex : hex.toUpperCase()}`;
    }
  }
  return `${out}"`;
}

const NUMBER_TEXTS = [
  '0',
  '-0',
  '7',
  '-12',
  '12.5',
  '1.25e2',
  '125E-1',
  '1e400',
  '-1e400',
  '0.1',
  '123456789012345678',
  '1.7976931348623157e308',
  '5e-324',
  '1700000000',
  '1700000000.123456',
  '-0.0',
  '4.2E+1',
  'NaN',
  'Infinity',
  '-Infinity',
];

function numberText(r: R): string {
  return r.chance(0.6) ? r.pick(NUMBER_TEXTS) : String(r.int(1e6) * (r.chance(0.2) ? -1 : 1));
}

/** Any JSON value (with Python's constants), as text. */
function anyValue(r: R, depth = 0): string {
  switch (r.int(depth > 2 ? 4 : 6)) {
    case 0:
      return encodeString(r, randomText(r));
    case 1:
      return numberText(r);
    case 2:
      return r.pick(['true', 'false', 'null']);
    case 3:
      return r.pick(['NaN', 'Infinity', '-Infinity', '""']);
    case 4: {
      const n = r.int(4);
      const items = Array.from({ length: n }, () => anyValue(r, depth + 1));
      return `[${ws(r)}${items.join(`${ws(r)},${ws(r)}`)}${ws(r)}]`;
    }
    default: {
      const n = r.int(4);
      const items = Array.from(
        { length: n },
        () => `${encodeString(r, randomKey(r))}${ws(r)}:${ws(r)}${anyValue(r, depth + 1)}`,
      );
      return `{${ws(r)}${items.join(`${ws(r)},${ws(r)}`)}${ws(r)}}`;
    }
  }
}

const KEYS = ['__proto__', 'constructor', '1', '0', '10', 'toString', 'shipper', 'meta', 'é', ''];
const randomKey = (r: R) => (r.chance(0.5) ? r.pick(KEYS) : randomText(r, 5));

const two = (n: number) => String(n).padStart(2, '0');

/** A time in any form a receiver may write, and some that are no time or impossible. */
function timeText(r: R): string {
  const y = r.chance(0.9) ? 2020 + r.int(8) : r.int(10000);
  const month = r.chance(0.95) ? 1 + r.int(12) : r.pick([0, 13]);
  const day = r.chance(0.9) ? 1 + r.int(28) : r.pick([29, 30, 31, 0, 32]);
  const date = `${String(y).padStart(4, '0')}-${two(month)}-${two(day)}`;
  const hour = r.chance(0.97) ? r.int(24) : 24;
  const time = `${two(hour)}:${two(r.int(60))}${r.chance(0.9) ? `:${two(r.chance(0.98) ? r.int(60) : 60)}` : ''}`;
  const fraction = r.chance(0.5)
    ? `.${String(r.int(1e9))
        .padStart(9, '0')
        .slice(0, 1 + r.int(9))}`
    : '';
  const zone = r.pick([
    '',
    '',
    'Z',
    '+00:00',
    '-08:00',
    '+05:30',
    '+0530',
    '-03',
    '+24:00',
    '+01:00:30',
    'z',
  ]);
  const sep = r.pick(['T', 'T', ' ', 't']);
  switch (r.int(8)) {
    case 0:
      return numberText(r);
    case 1:
      return encodeString(r, String(1_600_000_000 + r.int(2e8)) + (r.chance(0.5) ? `.${r.int(1000)}` : ''));
    case 2:
      return r.pick(['null', '"yesterday"', '""', 'true', '{}', '[1]', '"2026-02-30"', `"${date}"`]);
    default:
      return encodeString(r, `${date}${sep}${time}${fraction}${zone}`);
  }
}

function idText(r: R, hosts = false): string {
  if (r.chance(0.05))
    return r.pick(['""', '7', '-0', '1.5e3', 'NaN', 'Infinity', 'null', 'true', '[]', '{}']);
  if (hosts) return encodeString(r, r.pick(['host-01', 'host-02', 'hôte-3', 'h😀', 'rack 4 "b"']));
  return encodeString(r, `ep-${r.int(400)}${r.chance(0.1) ? randomText(r, 3) : ''}`);
}

/** One line with `fields` (known key → value text) among extra keys, in random order and spacing. */
function objectLine(r: R, fields: Array<[string, string]>): string {
  const entries = fields.filter(() => r.chance(0.95));
  const extras = r.int(4);
  for (let i = 0; i < extras; i++) {
    entries.splice(r.int(entries.length + 1), 0, [randomKey(r), anyValue(r)]);
  }
  // A repeated known key: JSON.parse keeps the last.
  if (r.chance(0.05) && fields.length > 0) entries.push(r.pick(fields));
  for (let i = entries.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    if (r.chance(0.5))
      [entries[i], entries[j]] = [entries[j] as [string, string], entries[i] as [string, string]];
  }
  const key = (k: string) => (r.chance(0.05) ? encodeString(r, k) : JSON.stringify(k));
  const body = entries.map(([k, v]) => `${key(k)}${ws(r)}:${ws(r)}${v}`).join(`${ws(r)},${ws(r)}`);
  let line = `${ws(r)}{${ws(r)}${body}${ws(r)}}${ws(r)}`;
  if (r.chance(0.05)) {
    // Damaged: cut short, or a stray character (never a line feed).
    const at = r.int(line.length + 1);
    line = r.chance(0.5)
      ? line.slice(0, at)
      : line.slice(0, at) + r.pick([',', '}', '"', 'x', '\\', ':', ' ']) + line.slice(at);
  }
  if (r.chance(0.01)) line = r.pick(['null', '[1, 2]', '"x"', '12', 'NaN', '-Infinity', 'true']);
  return line;
}

function indexLine(r: R): string {
  return objectLine(r, [
    ['episode_id', idText(r)],
    ['host_id', idText(r, true)],
    ['sha256', r.chance(0.9) ? encodeString(r, 'ab'.repeat(r.int(33))) : anyValue(r)],
    ['size_bytes', r.chance(0.9) ? numberText(r) : anyValue(r)],
    ['received_at_wall', timeText(r)],
    ['path', r.chance(0.9) ? encodeString(r, `episodes/h/${randomText(r)}.tar.zst`) : anyValue(r)],
  ]);
}

function alertLine(r: R): string {
  return objectLine(r, [
    ['host', idText(r, true)],
    ['symptom', r.chance(0.8) ? encodeString(r, randomText(r)) : anyValue(r)],
    ['detail', anyValue(r)],
    ['suggested_fix', encodeString(r, randomText(r, 20))],
    ['detected_at_wall', timeText(r)],
    ['dedup_key', r.chance(0.8) ? encodeString(r, randomText(r)) : anyValue(r)],
  ]);
}

function lines(seed: number, n: number, make: (r: R) => string): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => make(r)).filter((l) => l.trim() !== '');
}

/** What the first pass keeps of line i of a batch, in the terms of a parsed record. */
function compactOf(batch: CompactIndexBatch, i: number) {
  const status = batch.status[i] as number;
  if (status !== LINE_OK) return { ok: false, reason: SKIP_CODES[status - 1] };
  return {
    ok: true,
    hash: [batch.hashHi[i], batch.hashLo[i]],
    host: batch.hosts[batch.host[i] as number],
    size: Number.isNaN(batch.size[i]) ? null : batch.size[i],
    ms: batch.receivedMs[i],
  };
}

function compactOfRecord(p: ParseResult<EpisodeRecord>) {
  if (!p.ok) return { ok: false, reason: p.reason };
  const r = p.record;
  return {
    ok: true,
    hash: hash64(r.episode_id),
    host: r.host_id,
    size: r.size_bytes,
    ms: r.received_at === null ? Number.NaN : wallMs(r.received_at),
  };
}

/** The index state the records make (repeats counted once), as the live state shows it. */
function stateOf(records: EpisodeRecord[]) {
  const ids = new IdHashSet();
  const agg = new IndexAggregates();
  agg.add(records.filter((r) => ids.add(r.episode_id)));
  return agg.snapshotFields();
}

/** The same state from a compact batch, as the first pass applies it. */
function stateOfBatch(batch: CompactIndexBatch) {
  const ids = new IdHashSet();
  const agg = new IndexAggregates();
  for (let i = 0; i < batch.count; i++) {
    if (batch.status[i] !== LINE_OK || !ids.addHash(batch.hashHi[i] as number, batch.hashLo[i] as number))
      continue;
    agg.count(
      batch.hosts[batch.host[i] as number] as string,
      Number.isNaN(batch.size[i]) ? null : (batch.size[i] as number),
      batch.receivedMs[i] as number,
    );
  }
  const ok = batch.tail.map((t) => t.record);
  const seen = new IdHashSet();
  agg.pushRecent(ok.filter((r) => seen.add(r.episode_id)));
  return { ...agg.snapshotFields() };
}

describe('the scanner and the full parse give identical records', () => {
  it('on index lines of every shape', () => {
    const scanner = new JsonLineScanner(INDEX_FIELDS);
    let scanned = 0;
    let total = 0;
    for (const seed of [1, 2, 3]) {
      for (const line of lines(seed, 3000, indexLine)) {
        expect(parseIndexLine(line), line).toEqual(parseIndexLineFully(line));
        total++;
        if (scanText(scanner, line)) scanned++;
      }
    }
    // Most lines are valid (every fifth or so is damaged or holds a raw lone surrogate): the
    // scanner, not the fallback, read them.
    expect(scanned / total).toBeGreaterThan(0.6);
  });

  it('on alert lines of every shape', () => {
    for (const line of lines(4, 5000, alertLine)) {
      expect(parseAlertLine(line), line).toEqual(parseAlertLineFully(line));
    }
  });

  it('in the first pass: text batches, byte ranges, and the state they make', () => {
    const all = lines(5, 4000, indexLine);
    const full = all.map(parseIndexLineFully);
    const text = compactIndexBatch(all);
    const bytes = scanIndexRange(Buffer.from(`${all.join('\n')}\n`), 0, MAX_LINE_BYTES).batch;
    expect(text.count).toBe(all.length);
    expect(bytes.count).toBe(all.length);
    all.forEach((line, i) => {
      const want = compactOfRecord(full[i] as ParseResult<EpisodeRecord>);
      expect(compactOf(text, i), line).toEqual(want);
      expect(compactOf(bytes, i), line).toEqual(want);
    });
    const valid = full.flatMap((p) => (p.ok ? [p.record] : []));
    expect(bytes.tail.map((t) => t.record)).toEqual(valid.slice(-bytes.tail.length));
    expect(text.tail.map((t) => t.record)).toEqual(valid.slice(-text.tail.length));
    // Every reason and every kind of value occurred.
    expect(new Set(full.map((p) => (p.ok ? 'ok' : p.reason)))).toEqual(
      new Set(['ok', 'malformed_json', 'not_object', 'missing_fields', 'invalid_time']),
    );
    const want = stateOf(valid);
    // The recent list of the state comes from whole records either way.
    const fromBytes = stateOfBatch(bytes);
    expect(fromBytes.total_episodes).toBe(want.total_episodes);
    expect(fromBytes.total_bytes).toBe(want.total_bytes);
    expect(fromBytes.hosts_indexed).toEqual(want.hosts_indexed);
    expect(stateOfBatch(text)).toEqual(fromBytes);
  });
});

/** A catalog's episode rows as the explorer reads them back (`extra` parsed), in arrival order. */
function catalogRows(db: ReturnType<typeof openDatabase>) {
  const rows = db
    .prepare(
      `SELECT episode_id, host_id, sha256, size_bytes, received_at, received_ms, ${EPISODE_PATH} AS path, extra, duplicates
       FROM episodes ORDER BY id`,
    )
    .all() as Array<Parameters<typeof episodeFromRow>[0] & { duplicates: number }>;
  return rows.map((row) => ({ ...episodeFromRow(row), ms: row.received_ms, duplicates: row.duplicates }));
}

describe('the catalog writer', () => {
  it('stores from a first-pass range (columns and bytes) exactly the rows of the full parse', () => {
    // Ids repeat (400 or so per seed): each seed is a catalog of its own.
    for (const seed of [7, 8, 9, 10]) {
      const all = lines(seed, 4000, indexLine);
      // A few lines too long for a `spans` record (an extra key of 70,000 bytes first): the
      // writer scans those again.
      for (let i = 0; i < all.length; i += 97) {
        const line = all[i] as string;
        if (line.startsWith('{"') && parseIndexLineFully(line).ok)
          all[i] = `{"pad": "${'x'.repeat(70_000)}", ${line.slice(1)}`;
      }
      const bytes = Buffer.from(`${all.join('\n')}\n`);
      const batch = scanIndexRange(bytes, 0, MAX_LINE_BYTES).batch;
      // Most valid lines carry more than the fast columns (a path, extra keys, escapes): the
      // writer takes their columns where the first pass's scan found them (`spans`), `extra`
      // from its bytes; a line too long for that it scans again.
      const valid = Array.from({ length: batch.count }, (_, i) => i).filter(
        (i) => batch.status[i] === LINE_OK,
      );
      const spanned = valid.filter((i) => (batch.rows[i * ROW_FIELDS + ROW.line] as number) < -1).length;
      const rescanned = valid.filter((i) => batch.rows[i * ROW_FIELDS + ROW.idStart] === -1).length;
      expect(spanned).toBeGreaterThan(2000);
      expect(rescanned).toBeGreaterThan(5);

      const fromColumns = openDatabase(null);
      const fromRecords = openDatabase(null);
      try {
        const cp = { dev: 1, ino: 1, fingerprint: 'f', fingerprintLen: 1, offset: bytes.length };
        // A keyed table (no bulk load): the key tells repeats, the marks are not read.
        const a = new EpisodeStore(fromColumns).writeColumns({ ...batch, bytes, duplicateAt: [] }, cp);
        const records = all.map(parseIndexLineFully).flatMap((p) => (p.ok ? [p.record] : []));
        const b = new EpisodeStore(fromRecords).writeBatch(records, cp);
        expect(a).toEqual(b);
        const want = catalogRows(fromRecords);
        const got = catalogRows(fromColumns);
        // Extra keys of every kind (Python's constants, -0, nested, escaped, repeated keys).
        expect(want.filter((r) => r.extra !== undefined).length).toBeGreaterThan(250);
        expect(got.length).toBe(want.length);
        for (const [i, row] of got.entries()) expect(row, JSON.stringify(want[i])).toEqual(want[i]);
      } finally {
        fromColumns.close();
        fromRecords.close();
      }
    }
  });
});

/** What a first pass over `file` in ranges of `rangeBytes` delivers, batch by batch, in plain values. */
async function firstPassOf(file: string, rangeBytes: number, useScanner: boolean, helpMs?: number) {
  const plan = planIndexRanges(file, rangeBytes);
  if (!plan) throw new Error('no plan');
  const fd = sharedFd(plan.fd);
  const out: Array<Record<string, unknown>> = [];
  /** Which thread scanned each batch: the scanner's columns are its own. */
  const kinds: string[] = [];
  const loader = new FirstPassLoader(
    (batch, src: FirstPassSource) => {
      kinds.push(src.ownColumns ? 'scanner' : 'here');
      // The scanner thread leaves its tail as bytes (parsed when the recent window is read).
      deferredTail(batch);
      out.push({
        lines: Array.from({ length: batch.count }, (_, i) => compactOf(batch, i)),
        hosts: batch.hosts,
        hostSums: batch.hostSums,
        tail: batch.tail,
        rejected: batch.rejected,
        read: src.read,
        checkpoint: src.checkpoint,
        raw: rawLines(src.raw),
        // What the catalog writer reads of a valid line: where its text fields lie, or (-1) that
        // it is parsed whole; the rest of a row is not read (a reused builder leaves old values).
        rows: Array.from({ length: batch.count }, (_, i) => {
          if (batch.status[i] !== LINE_OK) return null;
          const row = Array.from(batch.rows.subarray(i * ROW_FIELDS, (i + 1) * ROW_FIELDS));
          if (row[ROW.line] === -1) return [-1];
          return row[ROW.idStart] === -1 ? row.slice(0, 3) : row;
        }),
        // The records of the lines with more than the fast columns (ROW.line < -1), in line order.
        spans: Array.from(batch.spans),
        texts: batch.texts,
      });
    },
    () => {},
    useScanner,
    helpMs,
  );
  await loader.scanRanges(fd, plan.ranges, plan.checkpoint);
  fd.release();
  return { out, kinds, ranges: plan.ranges.length };
}

describe('the first pass on two threads', () => {
  it('delivers exactly what one thread delivers: every batch, its lines, tail, skips and checkpoint', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'index.jsonl');
    // Lines of every shape, some ids repeated, an over-long line and invalid UTF-8 between them.
    const all = lines(6, 6000, indexLine);
    for (let k = 0; k < 50; k++) all.splice(100 + k * 97, 0, all[k * 11] as string);
    const parts = all.map((l) => Buffer.from(`${l}\n`));
    parts.splice(3000, 0, Buffer.from(`{"episode_id":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}\n`));
    parts.splice(4000, 0, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]));
    fs.writeFileSync(file, Buffer.concat(parts));
    const rangeBytes = 64 * 1024;
    const one = await firstPassOf(file, rangeBytes, false);
    expect(one.ranges).toBeGreaterThanOrEqual(8);
    expect(one.kinds.every((k) => k === 'here')).toBe(true);
    // A scanner thread started ahead of the pass (as the CLI's serve does), loaded, is taken by it.
    await prestartScanner();
    const two = await firstPassOf(file, rangeBytes, true);
    // The scanner thread scanned some of them.
    expect(two.kinds.filter((k) => k === 'scanner').length).toBeGreaterThan(0);
    expect(two.out).toEqual(one.out);
    // One started with the pass, this thread never helping it: the same batches.
    const three = await firstPassOf(file, rangeBytes, true, Number.POSITIVE_INFINITY);
    expect(three.out).toEqual(one.out);
    // This thread helping the scanner whenever its event loop is idle (the default): the same again.
    const four = await firstPassOf(file, rangeBytes, true, 0);
    expect(four.out).toEqual(one.out);
    // One never taken is ended when given back (nothing left running).
    void prestartScanner();
    releasePrestartedScanner();
  });
});

describe('one record in many shapes', () => {
  it('gives one record and one state', () => {
    const shapes = [
      '{"episode_id":"ep-1","host_id":"h\\u00f4te","sha256":"ab","size_bytes":1024,"received_at_wall":"2026-11-01T10:00:00.123Z","path":"episodes/h/ep-1.tar.zst"}',
      '{"episode_id": "ep-1", "host_id": "h\\u00f4te", "sha256": "ab", "size_bytes": 1024, "received_at_wall": "2026-11-01T10:00:00.123456+00:00", "path": "episodes/h/ep-1.tar.zst"}',
      '{"path": "episodes\\/h\\/ep-1.tar.zst", "received_at_wall": 1793527200.123, "size_bytes": 1.024e3, "sha256": "ab", "host_id": "hôte", "episode_id": "ep\\u002d1"}',
      ' {\t"received_at_wall" : "2026-11-01 10:00:00.123" ,"episode_id":"ep-1","host_id":"h\\u00F4te" , "size_bytes":1024.9,"sha256":"ab","path":"episodes/h/ep-1.tar.zst"}\r',
      '{"episode_id": "ep-1", "host_id": "h\\u00f4te", "sha256": "ab", "size_bytes": 1024, "received_at_wall": "2026-11-01T15:30:00.123+05:30", "path": "episodes/h/ep-1.tar.zst"}',
    ];
    const want = parseIndexLineFully(shapes[0] as string);
    expect(want.ok).toBe(true);
    for (const line of shapes) {
      expect(parseIndexLine(line), line).toEqual(want);
      expect(parseIndexLineFully(line), line).toEqual(want);
    }
    const batch = scanIndexRange(Buffer.from(`${shapes.join('\n')}\n`), 0, MAX_LINE_BYTES).batch;
    expect(new Set(Array.from(batch.status))).toEqual(new Set([LINE_OK]));
    expect(stateOfBatch(batch).hosts_indexed).toEqual({
      hôte: { episodes: 1, bytes: 1024, last_received_at: '2026-11-01T10:00:00.123Z' },
    });
  });
});
