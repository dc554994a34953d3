import { describe, expect, it } from 'vitest';
import {
  CompactBatchBuilder,
  type CompactIndexBatch,
  compactIndexBatch,
  TAIL_KEPT,
} from './index-compact.js';
import { scanIndexRange } from './index-scan.js';
import { type LineSink, splitLines } from './tail/lines.js';

const MAX = 1024;

/** What the tailer's splitter and the string parser make of the same bytes: the reference. */
function reference(chunk: Buffer, fileOffset: number) {
  const sink: LineSink = { lines: [], skipped: [] };
  splitLines(chunk, 0, chunk.length - 1, fileOffset, MAX, sink);
  const readSkips: Record<string, number> = {};
  for (const s of sink.skipped) readSkips[s.reason] = (readSkips[s.reason] ?? 0) + 1;
  return { batch: compactIndexBatch(sink.lines), readSkips };
}

/** Every per-line outcome and sum the dashboard reads, as plain data. */
function view(b: CompactIndexBatch) {
  const lines = Array.from({ length: b.count }, (_, i) => ({
    status: b.status[i],
    hash: [b.hashHi[i], b.hashLo[i]],
    host: b.status[i] === 0 ? b.hosts[b.host[i] as number] : null,
    size: b.size[i],
    ms: b.receivedMs[i],
  }));
  const sums = Object.fromEntries(
    b.hosts.map((h, k) => [h, [b.hostSums.episodes[k], b.hostSums.bytes[k], b.hostSums.lastMs[k]]]),
  );
  return { lines, sums, tail: b.tail, rejected: b.rejected };
}

function expectSameAsReference(text: Buffer | string, fileOffset = 0): CompactIndexBatch {
  const chunk = typeof text === 'string' ? Buffer.from(text) : text;
  const ours = scanIndexRange(chunk, fileOffset, MAX);
  const ref = reference(chunk, fileOffset);
  expect(view(ours.batch)).toEqual(view(ref.batch));
  expect(ours.readSkips).toEqual(ref.readSkips);
  return ours.batch;
}

const receiverLine = (i: number, host = `host-${i % 3}`) =>
  `{"episode_id":"ep-${i}","host_id":"${host}","sha256":"${'ab'.repeat(32)}","size_bytes":${1000 + i},"received_at_wall":"2026-11-0${1 + (i % 9)}T10:00:0${i % 10}.${String(i).padStart(3, '0').slice(-3)}Z","path":"episodes/${host}/ep-${i}.tar.zst"}`;

describe('scanIndexRange', () => {
  it('reads receiver lines byte-wise exactly as the string path parses them', () => {
    const lines = Array.from({ length: 500 }, (_, i) => receiverLine(i));
    const batch = expectSameAsReference(`${lines.join('\n')}\n`);
    expect(batch.count).toBe(500);
    expect(batch.hosts.sort()).toEqual(['host-0', 'host-1', 'host-2']);
    // The tail is the last TAIL_KEPT (400) lines, decoded whole: room for repeats among them.
    expect(batch.tail.map((t) => t.record.episode_id)).toEqual(
      lines.slice(500 - TAIL_KEPT).map((_, k) => `ep-${500 - TAIL_KEPT + k}`),
    );
  });

  it('declines anything not in the receiver shape to the string path, with the same outcome', () => {
    const sha = 'ab'.repeat(32);
    const lines = [
      receiverLine(1),
      // CRLF, extra CR, blank and whitespace-only lines.
      `${receiverLine(2)}\r`,
      `${receiverLine(3)}\r\r`,
      '',
      '   \t ',
      // Other key orders, spaces, extra keys, no path.
      `{"host_id":"h","episode_id":"x1","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id": "x2","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"x3","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1,"note":2}`,
      `{"episode_id":"x4","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      // Escapes, control characters, non-ASCII ids and hosts, empty id or host.
      `{"episode_id":"x\\"5","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"x6","host_id":"h\\u00e9","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"x7","host_id":"h","sha256":"a\tb","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"x8é","host_id":"hé","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      `{"episode_id":"x9","host_id":"","sha256":"${sha}","size_bytes":1,"received_at_wall":1}`,
      // Numbers: negative, zero, fractions, exponents, a leading zero, a huge one.
      `{"episode_id":"n1","host_id":"h","sha256":"${sha}","size_bytes":-0,"received_at_wall":-1.5e3}`,
      `{"episode_id":"n2","host_id":"h","sha256":"${sha}","size_bytes":0,"received_at_wall":0}`,
      `{"episode_id":"n3","host_id":"h","sha256":"${sha}","size_bytes":12.75,"received_at_wall":1795000000.25}`,
      `{"episode_id":"n4","host_id":"h","sha256":"${sha}","size_bytes":1E3,"received_at_wall":17950e5}`,
      `{"episode_id":"n5","host_id":"h","sha256":"${sha}","size_bytes":01,"received_at_wall":1}`,
      `{"episode_id":"n6","host_id":"h","sha256":"${sha}","size_bytes":1234567890123456789,"received_at_wall":1}`,
      `{"episode_id":"n7","host_id":"h","sha256":"${sha}","size_bytes":-7,"received_at_wall":1e400}`,
      `{"episode_id":"n8","host_id":"h","sha256":"${sha}","size_bytes":1.,"received_at_wall":1}`,
      // Times: other ISO forms, out of range, epoch seconds as a string, garbage.
      `{"episode_id":"t1","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"2026-11-01T12:00:00+02:00"}`,
      `{"episode_id":"t2","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"2026-13-01T00:00:00.000Z"}`,
      `{"episode_id":"t3","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"2026-11-01T12:00:00.000+0000"}`,
      `{"episode_id":"t4","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"1795000000"}`,
      `{"episode_id":"t5","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"soon"}`,
      `{"episode_id":"t6","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":"0050-06-15T12:00:00.000Z"}`,
      // Not JSON, not objects, trailing garbage, NUL bytes.
      'not json',
      'null',
      '[1,2]',
      `${receiverLine(4)} x`,
      `${receiverLine(5)},`,
      `\0\0${receiverLine(6)}`,
      `{"episode_id":"z1","host_id":"h","sha256":"${sha}","size_bytes":1,"received_at_wall":1}}`,
      // A repeated id (dedupe is the caller's; both lines are valid here).
      receiverLine(1),
    ];
    expectSameAsReference(`${lines.join('\n')}\n`);
  });

  it('agrees on a byte-order mark at the start of the file, and only there', () => {
    const text = `\uFEFF${receiverLine(1)}\n${receiverLine(2)}\n`;
    const batch = expectSameAsReference(text, 0);
    expect(batch.status[0]).toBe(0);
    expectSameAsReference(text, 4096);
  });

  it('agrees on invalid UTF-8, over-long lines and a chunk cut short', () => {
    const bad = Buffer.concat([
      Buffer.from(`${receiverLine(1)}\n`),
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]),
      Buffer.from(`${receiverLine(2).replace('ep-2', 'ep-\u00e9')}\n`),
      Buffer.from(`{"episode_id":"long","host_id":"h","pad":"${'x'.repeat(MAX)}"}\n`),
      Buffer.from(`${receiverLine(3)}\n`),
    ]);
    expect(expectSameAsReference(bad).count).toBe(4);
    expect(scanIndexRange(bad, 0, MAX).readSkips).toEqual({ invalid_utf8: 1, line_too_long: 1 });
    // The file shrank under the read: the chunk does not end with '\n'.
    expectSameAsReference(Buffer.from(`${receiverLine(1)}\n${receiverLine(2)}`));
  });

  it("strips a crashed write's NUL padding as the tailer does, and reports it", () => {
    const chunk = Buffer.from(`${receiverLine(1)}\n\0\0\0\0${receiverLine(2)}\n\0\0\n`);
    const { batch, readSkips } = scanIndexRange(chunk, 0, MAX);
    expect(batch.count).toBe(2);
    expect([batch.status[0], batch.status[1]]).toEqual([0, 0]);
    expect(readSkips).toEqual({ nul_padding: 2 });
    expectSameAsReference(chunk);
  });

  it('reads epoch seconds with fractions and Python isoformat times as the string path does', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n);
    };
    const sha = 'ab'.repeat(32);
    const lines = Array.from({ length: 2000 }, (_, i) => {
      const seconds = 1_700_000_000 + random(1e8);
      const received =
        i % 2 === 0
          ? `${seconds}.${String(random(1e6))
              .padStart(6, '0')
              .slice(0, 1 + random(6))}`
          : `"${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(random(1e6)).padStart(6, '0')}+0${random(10)}:${random(6)}0"`;
      return `{"episode_id":"e${i}","host_id":"h","sha256":"${sha}","size_bytes":${random(1e6)}.${random(100)},"received_at_wall":${received}}`;
    });
    expectSameAsReference(`${lines.join('\n')}\n`);
  });

  it('gives the same batches with one builder reused range after range', () => {
    const first = Buffer.from(
      `${Array.from({ length: 300 }, (_, i) => receiverLine(i)).join('\n')}\nnot json\n`,
    );
    const second = Buffer.from(`${receiverLine(7, 'other-host')}\n[1]\n${receiverLine(8)}\n`);
    const builder = new CompactBatchBuilder(16);
    const a = view(scanIndexRange(first, 0, MAX, builder).batch);
    const b = view(scanIndexRange(second, 4096, MAX, builder).batch);
    expect(a).toEqual(view(scanIndexRange(first, 0, MAX).batch));
    expect(b).toEqual(view(scanIndexRange(second, 4096, MAX).batch));
  });

  it('keeps hosts apart whose names share a hash or differ only in length', () => {
    const names = ['h', 'hh', 'h1', '1h', 'host-10', 'host-1', 'host-100'];
    const lines = names.flatMap((h, i) => [receiverLine(i, h), receiverLine(i + 100, h)]);
    const batch = expectSameAsReference(`${lines.join('\n')}\n`);
    expect(batch.hosts.sort()).toEqual([...names].sort());
  });

  it('finds each line its own host among more hosts than the lookup has slots', () => {
    // 700 hosts (the builder's lookup has 256 slots: many share one), each on three lines.
    const names = Array.from({ length: 700 }, (_, i) => (i % 2 ? `rack-${i}.lab` : `h${i}`));
    const order = [...names, ...names.slice().reverse(), ...names];
    const lines = order.map((h, i) => receiverLine(i, h));
    const batch = scanIndexRange(Buffer.from(`${lines.join('\n')}\n`), 0, MAX).batch;
    expect(Array.from({ length: batch.count }, (_, i) => batch.hosts[batch.host[i] as number])).toEqual(
      order,
    );
    expect(batch.hosts.length).toBe(700);
    expect(Array.from(batch.hostSums.episodes)).toEqual(names.map(() => 3));
  });

  it('finds a host however its name is spelled (escapes, raw UTF-8, plain)', () => {
    // As JSON text: each pair names one host.
    const spellings = [
      ['Ab', '\\u0041b'],
      ['ws-\\u00f8degaard', 'ws-ødegaard'],
      ['lab-pc-\\u03b1', 'lab-pc-α'],
      ['a\\/b', 'a/b'],
    ];
    const order = [0, 1, 2, 3, 3, 2, 1, 0].flatMap((k) => spellings[k] as string[]);
    const lines = order.map((h, i) => receiverLine(i, h));
    const batch = expectSameAsReference(`${lines.join('\n')}\n`);
    const names = order.map((h) => JSON.parse(`"${h}"`) as string);
    expect(Array.from({ length: batch.count }, (_, i) => batch.hosts[batch.host[i] as number])).toEqual(
      names,
    );
    expect(batch.hosts.sort()).toEqual(['Ab', 'a/b', 'lab-pc-α', 'ws-ødegaard']);
  });

  it('agrees with the string path on randomly damaged receiver lines', () => {
    // A deterministic generator: the same damage on every run.
    let seed = 490;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = Buffer.from('{}[]",:\\-+.0123456789eEaZ \t\r\0\u00ff');
    for (let round = 0; round < 40; round++) {
      const lines: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        const line = Buffer.from(receiverLine(round * 50 + i));
        const damage = Math.floor(random() * 3);
        for (let d = 0; d < damage; d++) {
          const at = Math.floor(random() * line.length);
          line[at] = alphabet[Math.floor(random() * alphabet.length)] as number;
        }
        lines.push(line, Buffer.from('\n'));
      }
      expectSameAsReference(Buffer.concat(lines), round === 0 ? 0 : 100);
    }
  });
});
