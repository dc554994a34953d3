/**
 * A copytruncate of a file the tailer last saw EMPTY: lines written, copied away and truncated
 * between two looks leave no sign in the file (it is empty again, or holds new lines that "start
 * with" its empty first bytes), so they are only in the copy. They must be read from it, once,
 * before the file's new lines (a live reproducer lost 50 lines so in 5 to 8 runs of 8). Real
 * files; the writer's moves are synchronous, so no look starts between them (a read under way in
 * the thread pool may land between them: every order must give the same lines and counts).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  jsonLines,
  records,
  runTailer,
  type TailRun,
  tailFixture,
} from '../../../test/support/tail-fixture.js';
import { nodeTailFs, type TailFs } from './fs.js';
import type { TailBatch, TailerEvent } from './types.js';

/**
 * A real fs that counts the stats of the tailed path (every look, and pass, starts with one) and
 * can make the writer's moves right after the next one (that stat is then stale).
 */
function countingFs(tailed: string) {
  let stats = 0;
  let afterStat: (() => void) | null = null;
  const fs: TailFs = {
    ...nodeTailFs,
    async stat(p) {
      const st = await nodeTailFs.stat(p);
      if (p === tailed) {
        stats += 1;
        const run = afterStat;
        afterStat = null;
        run?.();
      }
      return st;
    },
  };
  /** Resolves once the tailer has looked at the path since the call (a whole pass, two stats on). */
  const looked = async () => {
    const from = stats;
    await vi.waitFor(() => expect(stats).toBeGreaterThanOrEqual(from + 2), { interval: 5, timeout: 10_000 });
  };
  return {
    fs,
    looked,
    afterNextStat: (run: () => void) => {
      afterStat = run;
    },
  };
}

/** A tailer (real files) that read 30 lines, saw them copytruncated, and looked at the emptied file. */
async function seenEmpty() {
  const fx = tailFixture();
  const { fs, looked, afterNextStat } = countingFs(fx.path);
  const run = await runTailer({ path: fx.path, fs });
  const a = jsonLines('a', 30);
  fx.append(a.join(''));
  await run.untilLines(30);
  fx.logrotate({ how: 'copytruncate' });
  await run.untilEvent((e) => e.kind === 'rotated', 'the first rotation');
  await looked();
  return { fx, run, looked, afterNextStat, a };
}

/**
 * Once the last of `all` (written last) is delivered: every line once, in file order, both
 * copytruncates read from their copy (`.1` when found), nothing counted lost.
 */
async function expectEveryLineOnce(run: TailRun, tailed: string, all: string[]): Promise<void> {
  await run.until(() => run.lines.includes(all.at(-1) as string), 'the last line');
  await run.tailer.whenCaughtUp();
  expect(run.lines).toEqual(all);
  const rotated = { kind: 'rotated', how: 'truncate', path: tailed, drained: `${tailed}.1` };
  expect(run.events.filter((e: TailerEvent) => e.kind === 'rotated')).toEqual([rotated, rotated]);
  expect(run.tailer.stats()).toMatchObject({ lines: all.length, lostBytes: 0, checkpointsLost: 0 });
}

describe('JsonlTailer: copytruncate of a file last seen empty', () => {
  it.each([0, 3])(
    'at the path: the copy made between two looks is read, once, before the refill (%i lines)',
    async (refill) => {
      const { fx, run, looked, a } = await seenEmpty();
      // Between two looks: 50 lines, logrotate's copytruncate (.1 → .2, copy to .1), the refill.
      const b = jsonLines('b', 50);
      const c = jsonLines('c', refill);
      fx.append(b.join(''));
      fx.logrotate({ how: 'copytruncate' });
      if (refill > 0) fx.append(c.join(''));
      await looked();
      const d = jsonLines('d', 2);
      fx.append(d.join(''));
      await expectEveryLineOnce(run, fx.path, records([...a, ...b, ...c, ...d]));
    },
  );

  it('whose look saw the lines before they were copied away: read once, from the copy, no loss counted', async () => {
    const { fx, run, looked, afterNextStat, a } = await seenEmpty();
    // The next look's stat sees the 50 lines; right after it they are copied away and truncated.
    // Taken for the file's, that stat's size made the next look count them lost (from the copy).
    const b = jsonLines('b', 50);
    afterNextStat(() => fx.logrotate({ how: 'copytruncate' }));
    fx.append(b.join(''));
    await looked(); // the look whose stat was stale...
    await looked(); // ...and the next: both have seen the file as it is now
    const d = jsonLines('d', 2);
    fx.append(d.join(''));
    await expectEveryLineOnce(run, fx.path, records([...a, ...b, ...d]));
  });

  it('queued behind a copy being drained: its own copy is read after that one, before its refill', async () => {
    const fx = tailFixture();
    const b = jsonLines('b', 50);
    const c = jsonLines('c', 40);
    const d = jsonLines('d', 3);
    let moved = false;
    const run = await runTailer({
      path: fx.path,
      maxBatchBytes: 100, // the copy is read in several batches: a look between each two
      onBatch(batch: TailBatch) {
        // While the first copy is being drained, the emptied file (queued behind it, seen empty)
        // takes 40 lines, is copytruncated in turn (.1 → .2, copy to .1) and takes 3 more.
        if (moved || !batch.lines.includes(records(b)[0] as string)) return;
        moved = true;
        fx.append(c.join(''));
        fx.logrotate({ how: 'copytruncate' });
        fx.append(d.join(''));
      },
    });
    const a = jsonLines('a', 30);
    fx.append(a.join(''));
    await run.untilLines(30);
    fx.append(b.join(''));
    fx.logrotate({ how: 'copytruncate' });
    await expectEveryLineOnce(run, fx.path, records([...a, ...b, ...c, ...d]));
  });
});
