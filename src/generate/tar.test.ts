import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { createTar, TAR_BLOCK, type TarEntry } from './tar.js';

/** Writes the archive and lets the system tar list it (`tar -tv` fails on a bad checksum). */
function systemList(entries: TarEntry[]): { dir: string; file: string; names: string[] } {
  const dir = tempDir();
  const file = path.join(dir, 'a.tar');
  fs.writeFileSync(file, createTar(entries));
  const out = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
  return { dir, file, names: out.split('\n').filter((l) => l !== '') };
}

function extract(file: string, dir: string): string {
  const dest = path.join(dir, 'x');
  fs.mkdirSync(dest);
  execFileSync('tar', ['-xf', file, '-C', dest]);
  return dest;
}

describe('createTar', () => {
  it('writes an archive the system tar lists in order and extracts byte for byte', () => {
    const binary = Buffer.from(Array.from({ length: 1300 }, (_, i) => (i * 7) % 256));
    const entries: TarEntry[] = [
      { name: 'ep-1', type: 'directory' },
      { name: 'ep-1/meta.json', data: '{"a":1}\n' },
      { name: 'ep-1/labels.jsonl', data: '' },
      { name: 'ep-1/blob.bin', data: binary, mode: 0o600 },
      { name: 'ep-1/exact.txt', data: 'x'.repeat(TAR_BLOCK) },
      { name: 'ep-1/ünïcode.txt', data: 'ü\n' },
    ];
    const { dir, file, names } = systemList(entries);
    expect(names).toEqual([
      'ep-1/',
      'ep-1/meta.json',
      'ep-1/labels.jsonl',
      'ep-1/blob.bin',
      'ep-1/exact.txt',
      'ep-1/ünïcode.txt',
    ]);
    const dest = extract(file, dir);
    expect(fs.readFileSync(path.join(dest, 'ep-1/meta.json'), 'utf8')).toBe('{"a":1}\n');
    expect(fs.readFileSync(path.join(dest, 'ep-1/labels.jsonl'), 'utf8')).toBe('');
    expect(fs.readFileSync(path.join(dest, 'ep-1/blob.bin')).equals(binary)).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'ep-1/exact.txt'), 'utf8')).toBe('x'.repeat(TAR_BLOCK));
    expect(fs.readFileSync(path.join(dest, 'ep-1/ünïcode.txt'), 'utf8')).toBe('ü\n');
    expect(fs.statSync(path.join(dest, 'ep-1/blob.bin')).mode & 0o777).toBe(0o600);
  });

  it('pads every member to 512-byte blocks and ends with two zero blocks', () => {
    const tar = createTar([{ name: 'a.txt', data: 'hello' }]);
    // header + one data block + two end blocks
    expect(tar.length).toBe(4 * TAR_BLOCK);
    expect(tar.subarray(2 * TAR_BLOCK).every((b) => b === 0)).toBe(true);
    expect(tar.subarray(TAR_BLOCK, TAR_BLOCK + 5).toString()).toBe('hello');
  });

  it('keeps names longer than 100 bytes, via the ustar prefix or a pax record', () => {
    const viaPrefix = `${'d'.repeat(120)}/${'f'.repeat(90)}.txt`;
    const viaPax = `top/${'n'.repeat(180)}.txt`;
    const deepPax = `${'a/'.repeat(150)}leaf.txt`;
    const { dir, file, names } = systemList([
      { name: viaPrefix, data: 'prefix\n' },
      { name: viaPax, data: 'pax\n' },
      { name: deepPax, data: 'deep\n' },
    ]);
    expect(names).toEqual([viaPrefix, viaPax, deepPax]);
    const dest = extract(file, dir);
    expect(fs.readFileSync(path.join(dest, viaPrefix), 'utf8')).toBe('prefix\n');
    expect(fs.readFileSync(path.join(dest, viaPax), 'utf8')).toBe('pax\n');
    expect(fs.readFileSync(path.join(dest, deepPax), 'utf8')).toBe('deep\n');
  });

  it('is deterministic: the same entries give the same bytes', () => {
    const entries: TarEntry[] = [{ name: 'x/y.txt', data: 'same', mtime: 1_790_000_000 }];
    expect(createTar(entries).equals(createTar(entries))).toBe(true);
  });
});
