/**
 * A rename rotation whose new file is copytruncated while the renamed old file is still being
 * drained (held by the grace period, or by a consumer that is behind): the new file's first lines
 * then live only in the copy. They must be read from the copy, once, before the truncated file.
 */
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { MemFs } from '../../../test/support/memfs.js';
import {
  jsonLines,
  records,
  runTailer,
  type TailFixture,
  tailFixture,
} from '../../../test/support/tail-fixture.js';
import type { Checkpoint, TailerEvent } from './types.js';

const rotatedEvents = (events: TailerEvent[]) => events.filter((e) => e.kind === 'rotated');

/**
 * Real files: `old` lines, rename to `.1` (the writer adds lines to `.1` all along, which holds the
 * old file in its grace period), `b` lines in the new file, then copytruncate of the new file to
 * `.2` and `c` lines after it. Returns once the tailer has looked at the files after each step.
 */
async function renameThenCopytruncate(fx: TailFixture, run: Awaited<ReturnType<typeof runTailer>>) {
  const writer = fx.openWriter();
  writer.write(jsonLines('old', 3).join(''));
  await run.untilLines(3);
  fx.rotateRename();
  const b = jsonLines('b', 30);
  fx.write('index.jsonl', b.join(''));
  const bSize = fs.statSync(fx.path).size;
  // The tailer has looked at the path since it held the new file (stats are polled: no event)...
  await vi.waitFor(() => expect(run.tailer.stats().fileSize).toBe(bSize), { interval: 5 });
  // ...and has finished that look: a line written to the renamed file after it was delivered.
  writer.write(jsonLines('old', 1, 4).join(''));
  const fourth = records(jsonLines('old', 1, 4))[0] as string;
  await run.until(() => run.lines.includes(fourth), 'a look after the new file was seen');
  const copy = fx.copyTruncate('index.jsonl.2');
  const c = jsonLines('c', 2);
  fx.append(c.join(''));
  // The tailer has looked again since: the next line written to the renamed file was delivered.
  writer.write(jsonLines('old', 1, 5).join(''));
  const last = records(jsonLines('old', 1, 5))[0] as string;
  await run.until(() => run.lines.includes(last), 'a look after the copytruncate');
  writer.close();
  return { old: jsonLines('old', 5), b, c, copy };
}

describe('JsonlTailer: the file a rename put at the path is copytruncated before it is read', () => {
  it('reads the copy, then the truncated file from byte 0: every line once, in file order', async () => {
    const fx = tailFixture();
    // A grace period far longer than the steps below: the old file is still being drained when
    // the new one is copytruncated.
    const run = await runTailer({
      path: fx.path,
      rotationGraceMs: 1_000,
      maxBatchBytes: 100,
      maxLineBytes: 100,
    });
    const { old, b, c, copy } = await renameThenCopytruncate(fx, run);
    await run.untilLines(old.length + b.length + c.length);
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(records([...old, ...b, ...c]));
    expect(rotatedEvents(run.events)).toEqual([
      { kind: 'rotated', how: 'rename', path: fx.path, drained: fx.at('index.jsonl.1') },
      { kind: 'rotated', how: 'truncate', path: fx.path, drained: copy },
    ]);
    expect(run.tailer.stats()).toMatchObject({
      rotations: { rename: 1, truncate: 1, replaced: 0 },
      lostBytes: 0,
    });

    // Restarting from any checkpoint taken since the rename was noticed (the files as they are
    // now) delivers exactly the rest. One taken before it cannot know the new file: were that
    // copytruncated while the tailer is stopped, its first lines would be missed.
    const renamed = fs.statSync(fx.at('index.jsonl.1')).ino;
    let delivered = 0;
    const replayed = new Set<number>();
    for (const [i, batch] of run.batches.entries()) {
      delivered += batch.lines.length;
      const cp = batch.checkpoint;
      if (cp.ino === renamed && !cp.pending) continue;
      const rest = run.lines.slice(delivered);
      const again = await runTailer({ path: fx.path, start: cp, rotationGraceMs: 20 });
      await again.untilLines(rest.length);
      await again.tailer.whenCaughtUp();
      expect(again.lines, `from batch ${i}: ${JSON.stringify(cp)}`).toEqual(rest);
      expect(again.events.filter((e) => e.kind === 'checkpoint_lost')).toEqual([]);
      await again.tailer.stop();
      replayed.add(cp.ino);
    }
    // Checkpoints in the renamed file, in the copy, and in the truncated file.
    expect([...replayed].sort()).toEqual([renamed, fs.statSync(copy).ino, fs.statSync(fx.path).ino].sort());
  });

  it('stopped while the old file drains, resumes from its checkpoint without loss or repeat', async () => {
    const fx = tailFixture();
    const first = await runTailer({ path: fx.path, rotationGraceMs: 5_000 });
    const { old, b, c } = await renameThenCopytruncate(fx, first);
    await first.tailer.stop();
    const cp = first.checkpoint() as Checkpoint;
    // Stopped before the grace period ended: nothing of the new file was read yet.
    expect(first.lines).toEqual(records(old));

    const second = await runTailer({ path: fx.path, start: cp, rotationGraceMs: 20 });
    await second.untilLines(b.length + c.length);
    await second.tailer.whenCaughtUp();
    expect([...first.lines, ...second.lines]).toEqual(records([...old, ...b, ...c]));
    expect(second.tailer.stats().lostBytes).toBe(0);
    // The checkpoint named the renamed file, and the new file queued behind it.
    expect(cp.ino).toBe(fs.statSync(fx.at('index.jsonl.1')).ino);
    expect(cp.pending?.at(-1)?.ino).toBe(fs.statSync(fx.path).ino);
  });

  it('stopped so, then copytruncated twice more while stopped: reads every copy, in order', async () => {
    const fx = tailFixture();
    const first = await runTailer({ path: fx.path, rotationGraceMs: 5_000 });
    const { old, b, c } = await renameThenCopytruncate(fx, first);
    await first.tailer.stop();
    const cp = first.checkpoint() as Checkpoint;
    // While stopped, the receiver goes on rotating fast: its file copied and truncated twice.
    fx.copyTruncate('index.jsonl.3');
    const d = jsonLines('d', 4);
    fx.append(d.join(''));
    fx.copyTruncate('index.jsonl.4');
    const e = jsonLines('e', 3);
    fx.append(e.join(''));

    const second = await runTailer({ path: fx.path, start: cp, rotationGraceMs: 20 });
    await second.untilLines(b.length + c.length + d.length + e.length);
    await second.tailer.whenCaughtUp();
    // The queued file at the path was no anchor: the copy made of it while stopped (.3) and the
    // one after (.4) are read before it (the copy .4 was skipped so, silently).
    expect([...first.lines, ...second.lines]).toEqual(records([...old, ...b, ...c, ...d, ...e]));
    expect(second.tailer.stats()).toMatchObject({ lostBytes: 0, checkpointsLost: 0 });
  });
});

describe('JsonlTailer: the queued file copytruncated, then renamed, while stopped', () => {
  it('reads the copy as itself, then the renamed file and the new one: nothing hidden', async () => {
    const fx = tailFixture();
    const first = await runTailer({ path: fx.path, rotationGraceMs: 5_000 });
    const writer = fx.openWriter();
    const old = jsonLines('old', 3);
    writer.write(old.join(''));
    await first.untilLines(3);
    fx.rotateRename(); // the old file to .1, still being written (its grace period holds it)
    const b = jsonLines('b', 6);
    fx.write('index.jsonl', b.join(''));
    const bSize = fs.statSync(fx.path).size;
    await vi.waitFor(() => expect(first.tailer.stats().fileSize).toBe(bSize), { interval: 5 });
    const more = jsonLines('old', 1, 4);
    writer.write(more.join(''));
    const fourth = records(more)[0] as string;
    await first.until(() => first.lines.includes(fourth), 'a look after the new file was seen');
    writer.close();
    await first.tailer.stop();
    const cp = first.checkpoint() as Checkpoint;
    // The checkpoint is in the renamed file, the new one queued behind it, not read yet.
    expect(cp.pending?.at(-1)?.ino).toBe(fs.statSync(fx.path).ino);

    // While stopped: the new file copytruncated (its lines b now live only in the copy .2), written
    // on (c), then renamed (.3), and a newer file (d) at the path.
    fx.copyTruncate('index.jsonl.2');
    const c = jsonLines('c', 4);
    fx.append(c.join(''));
    fx.rotateRename('index.jsonl.3');
    const d = jsonLines('d', 2);
    fx.write('index.jsonl', d.join(''));

    const second = await runTailer({ path: fx.path, start: cp, rotationGraceMs: 20 });
    await second.untilLines(b.length + c.length + d.length);
    await second.tailer.whenCaughtUp();
    // The copy was held under the queued file's inode: the renamed file (that inode) was taken
    // for one already held and never read — c was lost, silently.
    expect([...first.lines, ...second.lines]).toEqual(records([...old, ...more, ...b, ...c, ...d]));
    expect(second.tailer.stats()).toMatchObject({ lostBytes: 0, checkpointsLost: 0 });
  });
});

describe('JsonlTailer: rotated files whose mtimes cannot tell their order', () => {
  it('reads no file already read when every rotated file was given one mtime while stopped', async () => {
    const fx = tailFixture();
    // Two rotated files from before, read long ago (the next-number scheme: .2 newer than .1).
    fx.write('index.jsonl.1', jsonLines('o1', 3).join(''));
    fx.write('index.jsonl.2', jsonLines('o2', 3).join(''));
    const first = await runTailer({ path: fx.path, rotationGraceMs: 5_000 });
    const writer = fx.openWriter();
    const a = jsonLines('a', 3);
    writer.write(a.join(''));
    await first.untilLines(3);
    // Renamed to .3 while still written (its grace period holds it); a new file at the path.
    fx.rotateRename('index.jsonl.3');
    const x = jsonLines('x', 4);
    fx.write('index.jsonl', x.join(''));
    const xSize = fs.statSync(fx.path).size;
    await vi.waitFor(() => expect(first.tailer.stats().fileSize).toBe(xSize), { interval: 5 });
    const a4 = jsonLines('a', 1, 4);
    writer.write(a4.join(''));
    await first.until(() => first.lines.includes(records(a4)[0] as string), 'a look after x was seen');
    // And again: the new file renamed to .4, another at the path.
    fx.rotateRename('index.jsonl.4');
    const b = jsonLines('b', 5);
    fx.write('index.jsonl', b.join(''));
    const bSize = fs.statSync(fx.path).size;
    await vi.waitFor(() => expect(first.tailer.stats().fileSize).toBe(bSize), { interval: 5 });
    const a5 = jsonLines('a', 1, 5);
    writer.write(a5.join(''));
    await first.until(() => first.lines.includes(records(a5)[0] as string), 'a look after b was seen');
    writer.close();
    await first.tailer.stop();
    const cp = first.checkpoint() as Checkpoint;
    expect(cp.pending?.at(-1)?.ino).toBe(fs.statSync(fx.path).ino);
    // While stopped, every rotated file gets one mtime (a restore, a touch): the order is only
    // assumed (logrotate's, .1 newest), which would put .1 and .2 after .4.
    const t = new Date();
    for (const n of [1, 2, 3, 4]) fs.utimesSync(fx.at(`index.jsonl.${n}`), t, t);

    const second = await runTailer({ path: fx.path, start: cp, rotationGraceMs: 20 });
    await second.untilLines(x.length + b.length);
    await second.tailer.whenCaughtUp();
    expect([...first.lines, ...second.lines]).toEqual(records([...a, ...a4, ...a5, ...x, ...b]));
  });
});

describe('JsonlTailer with a fake file system: a queued file truncated during the grace period', () => {
  const DIR = '/data';
  const FILE = '/data/index.jsonl';

  /** Runs the next step whenever the tailer looks at the path: each look sees what one step did. */
  class SteppedFs extends MemFs {
    steps: Array<() => void> = [];
    override async stat(p: string) {
      if (p === FILE) this.steps.shift()?.();
      return super.stat(p);
    }
  }

  /**
   * After the tailer read the first line: one step per look. The renamed file gets a line at every
   * step (the writer still holds it), so its grace period lasts until the steps run out.
   */
  async function stepped(steps: Array<(fs: MemFs) => void>) {
    const fs = new SteppedFs();
    fs.mkdir(DIR);
    fs.write(FILE, jsonLines('old', 1).join(''));
    const run = await runTailer({ path: FILE, fs, pollIntervalMs: 2, rotationGraceMs: 30 });
    await run.untilLines(1);
    await run.tailer.whenCaughtUp();
    let oldLines = 1;
    fs.steps = steps.map((step) => () => {
      step(fs);
      fs.append(`${FILE}.1`, jsonLines('old', 1, ++oldLines).join(''));
    });
    return { fs, run, oldLines: () => oldLines };
  }

  it('reads two copies made during one grace period in order, then the file', async () => {
    const b = jsonLines('b', 4);
    const c = jsonLines('c', 3);
    const d = jsonLines('d', 2);
    const { fs, run, oldLines } = await stepped([
      (fs) => {
        fs.rename(FILE, `${FILE}.1`);
        fs.write(FILE, b.join(''));
      },
      (fs) => {
        fs.copy(FILE, `${FILE}.2`);
        fs.truncate(FILE);
        fs.append(FILE, c.join(''));
      },
      (fs) => {
        fs.copy(FILE, `${FILE}.3`);
        fs.truncate(FILE);
        fs.append(FILE, d.join(''));
      },
    ]);
    await run.until(() => fs.steps.length === 0, 'all steps');
    await run.untilLines(oldLines() + b.length + c.length + d.length);
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(records([...jsonLines('old', oldLines()), ...b, ...c, ...d]));
    expect(rotatedEvents(run.events).map((e) => e.kind === 'rotated' && [e.how, e.drained])).toEqual([
      ['rename', `${FILE}.1`],
      ['truncate', `${FILE}.2`],
      ['truncate', `${FILE}.3`],
    ]);
    expect(run.tailer.stats()).toMatchObject({ rotations: { rename: 1, truncate: 2 }, lostBytes: 0 });
    await run.tailer.stop();
    expect(fs.openHandles).toBe(0);
  });

  it('counts what a queued file held as lost when it is truncated without a copy', async () => {
    const b = jsonLines('b', 4);
    const c = jsonLines('c', 1);
    const { fs, run, oldLines } = await stepped([
      (fs) => {
        fs.rename(FILE, `${FILE}.1`);
        fs.write(FILE, b.join(''));
      },
      (fs) => {
        fs.truncate(FILE);
        fs.append(FILE, c.join(''));
      },
    ]);
    await run.until(() => fs.steps.length === 0, 'all steps');
    await run.untilLines(oldLines() + c.length);
    await run.tailer.whenCaughtUp();
    expect(run.lines).toEqual(records([...jsonLines('old', oldLines()), ...c]));
    expect(run.tailer.stats()).toMatchObject({
      rotations: { rename: 1, truncate: 1 },
      lostBytes: Buffer.byteLength(b.join('')),
    });
    expect(rotatedEvents(run.events)).toContainEqual({ kind: 'rotated', how: 'truncate', path: FILE });
  });
});
