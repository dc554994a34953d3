import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/tmp.js';
import { nodeTailFs } from './fs.js';

describe('nodeTailFs', () => {
  it('stats files and folders, and answers null for a missing path or a file used as a folder', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.jsonl');
    fs.writeFileSync(file, 'hello\n');
    expect(await nodeTailFs.stat(file)).toMatchObject({ kind: 'file', size: 6, ino: fs.statSync(file).ino });
    expect(await nodeTailFs.stat(dir)).toMatchObject({ kind: 'directory' });
    expect(await nodeTailFs.stat(path.join(dir, 'nope'))).toBeNull();
    expect(await nodeTailFs.stat(path.join(file, 'under-a-file'))).toBeNull();
  });

  it('reads at a position and keeps reading a file after it is renamed and deleted', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.jsonl');
    fs.writeFileSync(file, '0123456789');
    const handle = await nodeTailFs.open(file);
    fs.renameSync(file, `${file}.1`);
    fs.appendFileSync(`${file}.1`, 'abc');
    fs.rmSync(`${file}.1`);
    const buf = Buffer.alloc(8);
    const n = await handle.read(buf, 7);
    expect(buf.toString('utf8', 0, n)).toBe('789abc');
    expect(await handle.read(buf, 13)).toBe(0);
    await handle.close();
  });

  it('opens a FIFO without hanging', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    const handle = await nodeTailFs.open(fifo);
    expect((await handle.stat()).kind).toBe('other');
    await handle.close();
  });

  it('lists a folder, and an empty list for a missing one', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a'), '');
    fs.mkdirSync(path.join(dir, 'sub'));
    expect((await nodeTailFs.readdir(dir)).sort()).toEqual(['a', 'sub']);
    expect(await nodeTailFs.readdir(path.join(dir, 'nope'))).toEqual([]);
  });

  it('watches a folder: a file written in it is reported by name', async () => {
    const dir = tempDir();
    const names: Array<string | null> = [];
    let seen = () => {};
    const saw = new Promise<void>((resolve) => {
      seen = resolve;
    });
    const stop = nodeTailFs.watchDir?.(dir, (name) => {
      names.push(name);
      if (name === 'index.jsonl') seen();
    });
    fs.writeFileSync(path.join(dir, 'index.jsonl'), '{}\n');
    await saw;
    stop?.();
    expect(names).toContain('index.jsonl');
  });

  it('throws when asked to watch a folder that does not exist', () => {
    const dir = tempDir();
    expect(() => nodeTailFs.watchDir?.(path.join(dir, 'nope'), () => {})).toThrow(/ENOENT/);
  });
});
