import { describe, expect, it } from 'vitest';
import { createTar, encodeTarEntry, TAR_END } from '../generate/tar.js';
import { type MemberAction, TarError, type TarMemberHeader, TarReader } from './tar-reader.js';

/** Records what the reader reports; reads bodies of the names in `read`. */
function collector(read: (h: TarMemberHeader) => MemberAction = () => 'read') {
  const members: TarMemberHeader[] = [];
  const bodies = new Map<string, Buffer>();
  let current: string | null = null;
  let parts: Buffer[] = [];
  const reader = new TarReader({
    member(h) {
      members.push(h);
      const action = read(h);
      if (action === 'read') {
        current = h.name;
        parts = [];
      }
      return action;
    },
    data(chunk) {
      parts.push(Buffer.from(chunk));
      return undefined;
    },
    memberEnd() {
      if (current !== null) bodies.set(current, Buffer.concat(parts));
      current = null;
      return undefined;
    },
  });
  return { reader, members, bodies };
}

/** Feeds `bytes` in pieces of `size` (1 = byte by byte), then ends. */
function feed(reader: TarReader, bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length && !reader.done; i += size) reader.push(bytes.subarray(i, i + size));
  reader.end();
}

/** A raw ustar header with a valid checksum, for sizes and types the writer will not produce. */
function rawHeader(name: string, size: number | Buffer, type = '0'): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'ascii');
  if (typeof size === 'number') block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  else size.copy(block, 124);
  block.write(type, 156, 'ascii');
  block.write('ustar\0' + '00', 257, 'binary');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const archive = createTar([
  { name: 'ep1', type: 'directory' },
  { name: 'ep1/meta.json', data: '{"a":1}' },
  { name: 'ep1/labels.jsonl', data: 'x'.repeat(1000) },
  { name: `ep1/${'deep/'.repeat(40)}labels.jsonl`, data: 'long' },
  { name: 'ep1/empty', data: '' },
]);

describe('TarReader', () => {
  it.each([1, 7, 512, 100_000])(
    'reports members and bodies whatever the chunking (%i-byte chunks)',
    (size) => {
      const { reader, members, bodies } = collector();
      feed(reader, archive, size);
      expect(members.map((m) => [m.name, m.size, m.isFile])).toEqual([
        ['ep1', 0, false],
        ['ep1/meta.json', 7, true],
        ['ep1/labels.jsonl', 1000, true],
        // Longer than ustar's name + prefix: carried by a pax `path` record.
        [`ep1/${'deep/'.repeat(40)}labels.jsonl`, 4, true],
        ['ep1/empty', 0, true],
      ]);
      expect(bodies.get('ep1/meta.json')?.toString()).toBe('{"a":1}');
      expect(bodies.get('ep1/labels.jsonl')?.toString()).toBe('x'.repeat(1000));
      expect(bodies.get(`ep1/${'deep/'.repeat(40)}labels.jsonl`)?.toString()).toBe('long');
      expect(reader.done).toBe(true);
    },
  );

  it('joins the ustar prefix and name', () => {
    const name = `${'p'.repeat(120)}/labels.jsonl`;
    const { reader, members } = collector();
    feed(reader, createTar([{ name, data: 'x' }]), 512);
    expect(members[0]?.name).toBe(name);
  });

  it('skips bodies it is not asked for and stops when the visitor says so', () => {
    const { reader, members, bodies } = collector((h) => (h.name.endsWith('labels.jsonl') ? 'stop' : 'skip'));
    expect(reader.push(archive)).toBe('done');
    expect(members.map((m) => m.name)).toEqual(['ep1', 'ep1/meta.json', 'ep1/labels.jsonl']);
    expect(bodies.size).toBe(0);
  });

  it('takes a GNU long name (L) for the next member', () => {
    const long = `${'g'.repeat(200)}/labels.jsonl`;
    const body = Buffer.from(`${long}\0`);
    const bytes = Buffer.concat([
      rawHeader('././@LongLink', body.length, 'L'),
      body,
      Buffer.alloc(512 - body.length),
      ...encodeTarEntry({ name: 'short', data: 'hi' }),
      TAR_END,
    ]);
    const { reader, members, bodies } = collector();
    feed(reader, bytes, 100);
    expect(members.map((m) => m.name)).toEqual([long]);
    expect(bodies.get(long)?.toString()).toBe('hi');
  });

  it('does not count a symlink or hard link named labels.jsonl as a file, and gives it no body', () => {
    // tarfile ignores the size field of link types; the next header follows immediately.
    const bytes = Buffer.concat([
      rawHeader('labels.jsonl', 1024, '2'),
      ...encodeTarEntry({ name: 'b', data: 'B' }),
    ]);
    const { reader, members } = collector();
    feed(reader, Buffer.concat([bytes, TAR_END]), 512);
    expect(members.map((m) => [m.name, m.isFile])).toEqual([
      ['labels.jsonl', false],
      ['b', true],
    ]);
  });

  it('reads a GNU base-256 size without allocating it: a skipped 1 TiB member just needs its bytes', () => {
    const size = Buffer.alloc(12);
    size[0] = 0x80;
    size.writeUIntBE(2 ** 40, 6, 6);
    const { reader, members } = collector(() => 'skip');
    expect(reader.push(rawHeader('huge', size))).toBe('more');
    expect(members[0]?.size).toBe(2 ** 40);
    // A megabyte of its body passes through without being kept anywhere.
    for (let i = 0; i < 16; i++) reader.push(new Uint8Array(65536));
    expect(() => reader.end()).toThrow(expect.objectContaining({ reason: 'truncated' }));
  });

  it('reports a bad checksum as not_tar, also after a good member', () => {
    const bad = Buffer.from(archive);
    bad[0] = 'x'.charCodeAt(0);
    expect(() => feed(collector().reader, bad, 512)).toThrow(expect.objectContaining({ reason: 'not_tar' }));

    const later = Buffer.concat([...encodeTarEntry({ name: 'a', data: 'A' }), Buffer.alloc(512, 7)]);
    expect(() => feed(collector().reader, later, 512)).toThrow(TarError);
  });

  it('reports text, an empty stream and a leading end block as not_tar', () => {
    for (const bytes of [Buffer.from('hello world\n'.repeat(100)), Buffer.alloc(0), Buffer.alloc(1024)]) {
      expect(() => feed(collector().reader, bytes, 512)).toThrow(
        expect.objectContaining({ reason: 'not_tar' }),
      );
    }
  });

  it('reports a stream ending inside a header or a body as truncated, and at a boundary as fine', () => {
    const cutBody = archive.subarray(0, 512 * 4 + 100);
    expect(() => feed(collector().reader, cutBody, 512)).toThrow(
      expect.objectContaining({ reason: 'truncated' }),
    );
    const cutHeader = archive.subarray(0, 512 + 200);
    expect(() => feed(collector().reader, cutHeader, 512)).toThrow(
      expect.objectContaining({ reason: 'truncated' }),
    );
    const noEndBlocks = Buffer.concat(encodeTarEntry({ name: 'a', data: 'A' }));
    const { reader, members } = collector();
    feed(reader, noEndBlocks, 512);
    expect(members).toHaveLength(1);
  });

  it('caps pax headers', () => {
    const bytes = rawHeader('PaxHeaders/x', 50 * 1024 * 1024, 'x');
    expect(() => collector().reader.push(bytes)).toThrow(expect.objectContaining({ reason: 'too_large' }));
  });
});
