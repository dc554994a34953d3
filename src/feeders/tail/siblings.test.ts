import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemFs } from '../../../test/support/memfs.js';
import { jsonLines, records, runTailer } from '../../../test/support/tail-fixture.js';
import { identify } from './fingerprint.js';
import { inspectGz, rotatedSiblings, rotationNumber } from './siblings.js';
import type { Checkpoint } from './types.js';

const DIR = '/data';
const FILE = '/data/index.jsonl';

/** The identity of a file as the tailer takes it. */
async function identityOf(fs: MemFs, p: string) {
  const handle = await fs.open(p);
  try {
    return await identify(handle);
  } finally {
    await handle.close();
  }
}

describe('rotated siblings', () => {
  it('knows logrotate names, compressed or not, and nothing else', () => {
    expect(rotationNumber('index.jsonl', 'index.jsonl.1')).toEqual({ n: 1, gz: false });
    expect(rotationNumber('index.jsonl', 'index.jsonl.12.gz')).toEqual({ n: 12, gz: true });
    for (const name of [
      'index.jsonl',
      'index.jsonl.0',
      'index.jsonl.01',
      'index.jsonl.1.tmp',
      'index.jsonl-1',
    ]) {
      expect(rotationNumber('index.jsonl', name), name).toBeNull();
    }
    expect(rotationNumber('index.jsonl', 'alerts.jsonl.1')).toBeNull();
  });

  it('lists them oldest first, a compressed one before the same number uncompressed', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    for (const name of [
      'index.jsonl',
      'index.jsonl.1',
      'index.jsonl.10',
      'index.jsonl.2',
      'index.jsonl.2.gz',
    ]) {
      fs.write(`${DIR}/${name}`, 'x\n');
    }
    fs.write(`${DIR}/alerts.jsonl.3`, 'x\n');
    fs.mkdir(`${DIR}/index.jsonl.4`);
    const found = await rotatedSiblings(fs, FILE);
    expect(found.map((s) => s.path.slice(DIR.length + 1))).toEqual([
      'index.jsonl.10',
      'index.jsonl.2.gz',
      'index.jsonl.2',
      'index.jsonl.1',
    ]);
  });

  it('reads the numbering from the mtimes: counting up when higher numbers were written last', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    const order = async () =>
      (await rotatedSiblings(fs, FILE)).map((s) => [s.path.slice(DIR.length + 1), s.age]);
    // Written in this order, as a receiver that numbers each new rotated file after the last.
    for (const n of [8, 9, 10]) fs.write(`${FILE}.${n}`, 'x\n');
    fs.write(`${FILE}.9.gz`, 'x\n');
    expect(await order()).toEqual([
      ['index.jsonl.8', 0],
      ['index.jsonl.9.gz', 1],
      ['index.jsonl.9', 1],
      ['index.jsonl.10', 2],
    ]);
    // logrotate's: each rotation renamed the others up, so the lowest number was written last.
    for (const n of [10, 9, 8]) fs.setMtime(`${FILE}.${n}`, 100 - n);
    expect((await order()).map(([name]) => name)).toEqual([
      'index.jsonl.10',
      'index.jsonl.9.gz',
      'index.jsonl.9',
      'index.jsonl.8',
    ]);
    // The mtimes cannot tell (one clock tick): logrotate's.
    for (const n of [8, 9, 10]) fs.setMtime(`${FILE}.${n}`, 5);
    expect((await order())[0]?.[0]).toBe('index.jsonl.10');
  });

  it('recognises a compressed file by its first bytes and sizes it from the trailer', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    // Incompressible: the first kilobyte needs more than the first compressed bytes tried.
    const text = Buffer.concat([randomBytes(40_000), Buffer.from('\n')]);
    fs.write(FILE, text);
    const id = await identityOf(fs, FILE);
    fs.write(`${FILE}.1.gz`, gzipSync(text));
    fs.write(`${FILE}.2.gz`, gzipSync('other\n'));
    fs.write(`${FILE}.3.gz`, 'not gzip at all, just text\n');
    const at = async (p: string) => {
      const st = await fs.stat(p);
      const handle = await fs.open(p);
      return inspectGz(handle, st?.size ?? 0, id).finally(() => handle.close());
    };
    expect(await at(`${FILE}.1.gz`)).toEqual({ matches: true, size: text.length });
    expect(await at(`${FILE}.2.gz`)).toEqual({ matches: false, size: 6 });
    expect((await at(`${FILE}.3.gz`)).matches).toBe(false);
  });
});

/**
 * In memory: `z` lines in an older rotated file, `a` lines in the file read up to its 5th line,
 * then while stopped: 3 more `a` lines, a rename, 6 `b` lines, a second rename, 4 `c` lines.
 */
async function twoRenamesWhileStopped(): Promise<{ fs: MemFs; start: Checkpoint }> {
  const fs = new MemFs();
  fs.mkdir(DIR);
  const rotate = () => renameRotation(fs);
  fs.write(FILE, jsonLines('z', 3).join(''));
  rotate();
  const a = jsonLines('a', 8);
  fs.write(FILE, a.slice(0, 5).join(''));
  const start = {
    ...(await identityOf(fs, FILE)),
    offset: Buffer.byteLength(a.slice(0, 5).join('')),
  };
  fs.append(FILE, a.slice(5).join(''));
  rotate();
  fs.write(FILE, jsonLines('b', 6).join(''));
  rotate();
  fs.write(FILE, jsonLines('c', 4).join(''));
  return { fs, start };
}

/** logrotate's rename rotation: `.N` → `.N+1`, the file → `.1`. */
function renameRotation(fs: MemFs): void {
  for (let n = 8; n >= 1; n--) if (fs.exists(`${FILE}.${n}`)) fs.rename(`${FILE}.${n}`, `${FILE}.${n + 1}`);
  fs.rename(FILE, `${FILE}.1`);
}

describe('JsonlTailer with a fake file system: rotations while stopped', () => {
  const rest = records([...jsonLines('a', 3, 6), ...jsonLines('b', 6), ...jsonLines('c', 4)]);

  it('resumes from any checkpoint taken on the way through the rotated files: every line once', async () => {
    const { fs, start } = await twoRenamesWhileStopped();
    const run = await runTailer({
      path: FILE,
      fs,
      start,
      pollIntervalMs: 2,
      rotationGraceMs: 5,
      maxBatchBytes: 20,
      maxLineBytes: 25,
    });
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(rest);
    await run.tailer.stop();
    expect(run.batches.length).toBeGreaterThan(6);

    let delivered = 0;
    for (const [i, batch] of run.batches.entries()) {
      delivered += batch.lines.length;
      // The same files, built again (same inodes), and one more rotation while stopped.
      const again = await twoRenamesWhileStopped();
      renameRotation(again.fs);
      again.fs.write(FILE, jsonLines('d', 2).join(''));
      const resumed = await runTailer({
        path: FILE,
        fs: again.fs,
        start: batch.checkpoint,
        pollIntervalMs: 2,
        rotationGraceMs: 5,
      });
      await resumed.tailer.whenCaughtUp();
      const what = `from batch ${i}: ${JSON.stringify(batch.checkpoint)}`;
      expect(resumed.lines, what).toEqual([...rest.slice(delivered), ...records(jsonLines('d', 2))]);
      expect(
        resumed.events.filter((e) => e.kind === 'checkpoint_lost'),
        what,
      ).toEqual([]);
      await resumed.tailer.stop();
      expect(again.fs.openHandles, what).toBe(0);
    }
  });

  it("follows a numbering that counts up (the demo receiver's): reads the newer files, not the older", async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    fs.write(`${FILE}.7`, jsonLines('z', 3).join('')); // read in an earlier run
    const a = jsonLines('a', 8);
    fs.write(FILE, a.slice(0, 5).join(''));
    const start = { ...(await identityOf(fs, FILE)), offset: Buffer.byteLength(a.slice(0, 5).join('')) };
    fs.append(FILE, a.slice(5).join(''));
    fs.rename(FILE, `${FILE}.8`);
    fs.write(FILE, jsonLines('b', 6).join(''));
    fs.rename(FILE, `${FILE}.9`);
    fs.write(FILE, jsonLines('c', 4).join(''));
    fs.copy(FILE, `${FILE}.10`);
    fs.truncate(FILE);
    fs.append(FILE, jsonLines('d', 3).join(''));

    const run = await runTailer({ path: FILE, fs, start, pollIntervalMs: 2, rotationGraceMs: 5 });
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(
      records([...a.slice(5), ...jsonLines('b', 6), ...jsonLines('c', 4), ...jsonLines('d', 3)]),
    );
  });

  it('reads the file after a compressed checkpointed one although the gzip was written after it', async () => {
    const fs = new MemFs();
    fs.mkdir(DIR);
    const a = jsonLines('a', 8);
    fs.write(FILE, a.slice(0, 5).join(''));
    const start = { ...(await identityOf(fs, FILE)), offset: Buffer.byteLength(a.slice(0, 5).join('')) };
    fs.append(FILE, a.slice(5).join(''));
    renameRotation(fs);
    const b = jsonLines('b', 6);
    fs.write(FILE, b.join(''));
    // logrotate with delaycompress: .1 → .2, compressed now (a later mtime than b's last write).
    renameRotation(fs);
    fs.write(`${FILE}.2.gz`, gzipSync(Buffer.from(a.join(''))));
    fs.unlink(`${FILE}.2`);
    fs.write(FILE, jsonLines('c', 2).join(''));

    const run = await runTailer({ path: FILE, fs, start, pollIntervalMs: 2, rotationGraceMs: 5 });
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(records([...b, ...jsonLines('c', 2)]));
    expect(run.events.filter((e) => e.kind === 'compressed_skipped')).toEqual([
      {
        kind: 'compressed_skipped',
        path: FILE,
        file: `${FILE}.2.gz`,
        unreadBytes: Buffer.byteLength(a.slice(5).join('')),
      },
    ]);
  });
});
