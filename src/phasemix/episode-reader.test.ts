import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonl, tarHeader, tarPadding, tarZst, zstdOf } from '../../test/support/phasemix.js';
import { tempDir } from '../../test/support/tmp.js';
import { encodeTarEntry, TAR_END } from '../generate/tar.js';
import { readEpisode } from './episode-file.js';
import { EpisodeExtraction } from './episode-reader.js';
import { ZstdWorkspace } from './zstd-stream.js';

const LABELS = [
  { phase: 'boot', t_mono_ns: 1_000_000_000 },
  { phase: 'baseline', t_mono_ns: 3_000_000_000 },
];
const META = { t_mono_end_ns: 4_000_000_000, workload: 'x' };

function write(bytes: Uint8Array, name = 'ep.tar.zst'): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** An in-memory source that counts how far it was read. */
function memorySource(bytes: Uint8Array) {
  const source = {
    maxPosition: 0,
    read(buf: Uint8Array, position: number): number {
      const piece = bytes.subarray(position, position + buf.length);
      buf.set(piece);
      source.maxPosition = Math.max(source.maxPosition, position + piece.length);
      return piece.length;
    },
  };
  return source;
}

describe('readEpisode', () => {
  it('reads labels and meta when labels come first, last, or nested in folders', async () => {
    const layouts = [
      [
        { name: 'labels.jsonl', data: jsonl(LABELS) },
        { name: 'meta.json', data: JSON.stringify(META) },
        { name: 'telemetry.bin', data: 'z'.repeat(5000) },
      ],
      [
        { name: 'telemetry.bin', data: 'z'.repeat(5000) },
        { name: 'meta.json', data: JSON.stringify(META) },
        { name: 'labels.jsonl', data: jsonl(LABELS) },
      ],
      [
        { name: 'ep-1/sub', type: 'directory' as const },
        { name: 'ep-1/sub/meta.json', data: JSON.stringify(META) },
        { name: 'ep-1/sub/labels.jsonl', data: jsonl(LABELS) },
      ],
    ];
    for (const entries of layouts) {
      const got = await readEpisode(write(tarZst(entries)));
      expect(got.error).toBeNull();
      expect(got.labels).toEqual(LABELS);
      expect(got.meta).toEqual(META);
    }
  });

  it('stops reading once labels and meta are in, without decompressing what follows', () => {
    // 200 MiB of telemetry after the two members: never decompressed, and the file barely read.
    const bytes = zstdOf([
      ...encodeTarEntry({ name: 'meta.json', data: JSON.stringify(META) }),
      ...encodeTarEntry({ name: 'labels.jsonl', data: jsonl(LABELS) }),
      tarHeader('telemetry.bin', 200 * 1024 * 1024),
      { zeros: 200 * 1024 * 1024 },
      TAR_END,
    ]);
    const source = memorySource(bytes);
    const got = new EpisodeExtraction(new ZstdWorkspace(), source).runToEnd();
    expect(got.error).toBeNull();
    expect(got.labels).toEqual(LABELS);
    expect(got.bytesDecompressed).toBeLessThanOrEqual(256 * 1024);
    expect(source.maxPosition).toBeLessThanOrEqual(64 * 1024);
  });

  it('lists members (names as written, `..` and absolute ones included) when asked', async () => {
    const file = write(
      tarZst([
        { name: 'ep', type: 'directory' },
        { name: 'ep/labels.jsonl', data: jsonl(LABELS) },
        { name: '../../etc/labels.jsonl', data: 'not used: the first labels.jsonl wins' },
        { name: '/abs/meta.json', data: JSON.stringify(META) },
        { name: 'ep/telemetry.bin', data: 'z'.repeat(700) },
      ]),
    );
    const got = await readEpisode(file, { members: true });
    expect(got.members).toEqual([
      { name: 'ep', size: 0 },
      { name: 'ep/labels.jsonl', size: jsonl(LABELS).length },
      { name: '../../etc/labels.jsonl', size: 37 },
      { name: '/abs/meta.json', size: JSON.stringify(META).length },
      { name: 'ep/telemetry.bin', size: 700 },
    ]);
    expect(got.labels).toEqual(LABELS);
    expect(got.meta).toEqual(META);
    expect(got.error).toBeNull();
  });

  it('keeps object lines, skipping garbage, non-object JSON and blank lines', async () => {
    const text = [
      '{"phase":"boot","t_mono_ns":1}',
      'not json at all',
      '{"phase":"cut',
      'null',
      '[1]',
      '"x"',
      '42',
      '',
      '   ',
      '  {"phase":"baseline","t_mono_ns":2}\r',
      '{"phase":"sep\u2028inside","t_mono_ns":3}',
    ].join('\n');
    const got = await readEpisode(write(tarZst([{ name: 'labels.jsonl', data: text }])));
    expect(got.labels).toEqual([
      { phase: 'boot', t_mono_ns: 1 },
      { phase: 'baseline', t_mono_ns: 2 },
      { phase: 'sep\u2028inside', t_mono_ns: 3 },
    ]);
    expect(got.skippedLines).toBe(6);
    expect(got.error).toBeNull();
  });

  it('gives an empty labels.jsonl as no records (not an error), and a missing one as no_labels', async () => {
    const empty = await readEpisode(write(tarZst([{ name: 'labels.jsonl', data: '' }])));
    expect(empty.labels).toEqual([]);
    expect(empty.error).toBeNull();
    const absent = await readEpisode(write(tarZst([{ name: 'meta.json', data: '{}' }])));
    expect(absent.labels).toBeNull();
    expect(absent.meta).toEqual({});
    expect(absent.error).toBe('no_labels');
  });

  it('does not take a directory or symlink named labels.jsonl', async () => {
    const bytes = zstdOf([tarHeader('x/labels.jsonl', 0, '5'), tarHeader('labels.jsonl', 0, '2'), TAR_END]);
    expect((await readEpisode(write(bytes))).error).toBe('no_labels');
  });

  it('names each broken file: truncated, not zstd, not tar, unreadable', async () => {
    const good = tarZst([
      { name: 'telemetry.bin', data: Buffer.alloc(300_000, 1) },
      { name: 'labels.jsonl', data: jsonl(LABELS) },
    ]);
    const cases: Array<[string, Uint8Array | null, string]> = [
      ['truncated zstd', good.subarray(0, Math.floor(good.length / 2)), 'truncated'],
      ['empty file', new Uint8Array(0), 'truncated'],
      [
        'plain tar',
        Buffer.concat([...encodeTarEntry({ name: 'labels.jsonl', data: 'x' }), TAR_END]),
        'not_zstd',
      ],
      ['text', Buffer.from('hello\n'), 'not_zstd'],
      ['zstd of text', zstdOf([Buffer.from('just some text\n'.repeat(100))]), 'not_tar'],
      ['zstd of nothing', zstdOf([]), 'not_tar'],
      ['corrupt zstd', Buffer.concat([good.subarray(0, 40), Buffer.alloc(400, 0xab)]), 'unreadable'],
      ['missing file', null, 'unreadable'],
    ];
    for (const [what, bytes, reason] of cases) {
      const file = bytes === null ? path.join(tempDir(), 'gone.tar.zst') : write(bytes);
      const got = await readEpisode(file);
      expect({ what, error: got.error, labels: got.labels }).toEqual({ what, error: reason, labels: null });
    }
  });

  it('skips a member claiming gigabytes of zeros at the episode bound, without holding it', async () => {
    const huge = 3 * 1024 ** 3;
    const bytes = zstdOf(
      [
        tarHeader('zeros.bin', huge),
        { zeros: 96 * 1024 * 1024 },
        ...encodeTarEntry({ name: 'labels.jsonl', data: '{}' }),
      ],
      1,
    );
    expect(bytes.length).toBeLessThan(64 * 1024);
    const got = await readEpisode(write(bytes));
    expect(got.error).toBe('too_large');
    expect(got.labels).toBeNull();
    // Stopped one byte past the 64 MiB default bound.
    expect(got.bytesDecompressed).toBe(64 * 1024 * 1024 + 1);

    const small = await readEpisode(write(bytes), { maxEpisodeBytes: 1024 * 1024 });
    expect(small.error).toBe('too_large');
    expect(small.bytesDecompressed).toBe(1024 * 1024 + 1);
  });

  it('keeps labels read before the bound when meta.json lies beyond it', async () => {
    const bytes = zstdOf(
      [
        ...encodeTarEntry({ name: 'labels.jsonl', data: jsonl(LABELS) }),
        tarHeader('zeros.bin', 2 * 1024 ** 3),
        { zeros: 4 * 1024 * 1024 },
      ],
      1,
    );
    const got = await readEpisode(write(bytes), { maxEpisodeBytes: 2 * 1024 * 1024 });
    expect(got.labels).toEqual(LABELS);
    expect(got.meta).toBeNull();
    expect(got.error).toBe('too_large');
  });

  it('refuses a 50 MiB single-line labels.jsonl from its header, before reading it', async () => {
    const size = 50 * 1024 * 1024;
    const line = Buffer.alloc(size, 'a');
    const bytes = zstdOf([tarHeader('labels.jsonl', size), line, tarPadding(size), TAR_END], 1);
    const got = await readEpisode(write(bytes));
    expect(got.error).toBe('too_large');
    expect(got.bytesDecompressed).toBeLessThanOrEqual(128 * 1024);
  });

  it('applies the labels bound, and ignores an oversized meta.json', async () => {
    const entries = [
      { name: 'meta.json', data: JSON.stringify({ pad: 'm'.repeat(3000), t_mono_end_ns: 5 }) },
      { name: 'labels.jsonl', data: jsonl(LABELS) },
    ];
    const got = await readEpisode(write(tarZst(entries)), { maxLabelsBytes: 1000 });
    expect(got.labels).toEqual(LABELS);
    expect(got.meta).toBeNull();
    expect((await readEpisode(write(tarZst(entries)), { maxLabelsBytes: 20 })).error).toBe('too_large');
  });

  it('handles many concurrent reads (each with its own decompression state)', async () => {
    const files = Array.from({ length: 12 }, (_, i) =>
      write(
        tarZst([
          { name: 'telemetry.bin', data: Buffer.alloc(400_000 + i, i) },
          { name: 'labels.jsonl', data: jsonl([{ phase: `p${i}`, t_mono_ns: i }]) },
        ]),
        `ep${i}.tar.zst`,
      ),
    );
    // A 0 ms slice makes every read yield between steps, interleaving them.
    const yielder = { due: () => true, pause: () => new Promise<void>((r) => setImmediate(r)) };
    const got = await Promise.all(files.map((f) => readEpisode(f, {}, yielder)));
    expect(got.map((g) => g.labels?.[0]?.phase)).toEqual(files.map((_, i) => `p${i}`));
  });
});
