/**
 * A copytruncate (copy, truncate, the writer goes on at byte 0) that lands INSIDE one look: after
 * the look's stat and first-bytes check saw the old file, before it read or identified it.
 * A real fs under a TailFs that makes the writer's moves at exactly that point, so the race is
 * deterministic (a live server hit it about once per 10–20 runs of 10 rotation rounds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/tmp.js';
import { nodeTailFs, type TailFs } from './fs.js';
import { JsonlTailer } from './tailer.js';
import type { TailerEvent } from './types.js';

// Every line the same length, as json.dumps gives the receiver's: offsets fall on line boundaries.
const line = (i: number) => `{"episode_id":"ep-${String(i).padStart(6, '0')}","pad":"${'x'.repeat(200)}"}\n`;
const L = line(0).length;

function setup() {
  const dir = tempDir();
  const index = path.join(dir, 'index.jsonl');
  let written = 0;
  const append = (count: number) => {
    let text = '';
    for (let i = 0; i < count; i++) text += line(written++);
    fs.appendFileSync(index, text);
  };
  const copyTruncate = () => {
    fs.copyFileSync(index, `${index}.1`);
    fs.truncateSync(index, 0);
  };
  /** Runs once, the next time the hook's condition holds. */
  let hook: { when: (op: string, p: string, pos?: number) => boolean; run: () => void } | null = null;
  /** Stats of the index path: one per look. */
  let looks = 0;
  const fire = (op: string, p: string, pos?: number) => {
    if (op === 'stat' && p === index) looks++;
    if (hook?.when(op, p, pos)) {
      const h = hook;
      hook = null;
      h.run();
    }
  };
  // No folder watch: looks come from the polling alone, one at a time.
  const tailFs: TailFs = {
    async stat(p) {
      const st = await nodeTailFs.stat(p);
      fire('stat', p); // the writer moves right after the look's stat: the stat is stale
      return st;
    },
    async open(p) {
      const h = await nodeTailFs.open(p);
      return {
        async read(buf, position) {
          fire('read', p, position); // the writer moves right before this read
          return h.read(buf, position);
        },
        stat: () => h.stat(),
        close: () => h.close(),
      };
    },
    readdir: (d) => nodeTailFs.readdir(d),
  };
  const got: string[] = [];
  const events: TailerEvent[] = [];
  const tailer = new JsonlTailer({
    path: index,
    fs: tailFs,
    pollIntervalMs: 10,
    onBatch: (b) => {
      got.push(...b.lines);
    },
    onEvent: (e) => events.push(e),
  });
  const setHook = (h: typeof hook) => {
    hook = h;
  };
  return {
    index,
    append,
    copyTruncate,
    tailer,
    got,
    events,
    setHook,
    written: () => written,
    looks: () => looks,
  };
}

/** Ids written but never delivered, and ids delivered more than once. */
function tally(t: ReturnType<typeof setup>) {
  const seen = new Map<string, number>();
  for (const l of t.got) seen.set(l, (seen.get(l) ?? 0) + 1);
  const ids = (ls: string[]) => ls.map((l) => l.slice(15, 24));
  const all = Array.from({ length: t.written() }, (_, i) => line(i).trimEnd());
  return {
    missing: ids(all.filter((l) => !seen.has(l))),
    doubled: ids([...seen].filter(([, n]) => n > 1).map(([l]) => l)),
    extra: ids([...seen.keys()].filter((l) => !all.includes(l))),
  };
}

async function settle(t: ReturnType<typeof setup>) {
  await expect
    .poll(() => t.got.length, { timeout: 10_000, interval: 10 })
    .toBeGreaterThanOrEqual(t.written());
  // A few more looks: a line read twice would arrive in one of them.
  const after = t.looks() + 3;
  await expect.poll(() => t.looks(), { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(after);
  await t.tailer.whenCaughtUp();
}

/**
 * 30 lines read; 50 more appended, and at the hooked step of the look that follows the writer
 * copies, truncates and writes `refill` lines from byte 0. Every line must arrive once, with no
 * loss counted and one truncate rotation.
 */
async function copytruncateInsideLook(
  when: (t: ReturnType<typeof setup>) => (op: string, p: string, pos?: number) => boolean,
  refill: number,
): Promise<void> {
  const t = setup();
  t.append(30);
  await t.tailer.start();
  try {
    await expect.poll(() => t.got.length, { timeout: 10_000, interval: 10 }).toBe(30);
    t.setHook({
      when: when(t),
      run: () => {
        t.copyTruncate();
        if (refill > 0) t.append(refill);
      },
    });
    t.append(50);
    await settle(t);
    expect(tally(t)).toEqual({ missing: [], doubled: [], extra: [] });
    expect(t.tailer.stats().lostBytes).toBe(0);
    expect(t.events.filter((e) => e.kind === 'rotated')).toHaveLength(1);
    expect(t.tailer.stats().rotations.truncate).toBe(1);
  } finally {
    await t.tailer.stop();
  }
}

describe('a copytruncate inside one look', () => {
  it('is not read at the old offset in the refilled file: every line once (between check and read)', async () => {
    // The look checks the first bytes (still the old file); before it reads on at byte 30·L the
    // writer copies, truncates and writes 51 lines from byte 0.
    await copytruncateInsideLook((t) => (op, p, pos) => op === 'read' && p === t.index && pos === 30 * L, 51);
  });

  it.each([30, 0])(
    'sizes the truncated file as it is, not as the stale stat saw it: no false loss (stat before truncate, then %i lines)',
    async (refill) => {
      // The look's stat sees the 80 lines; the writer then copies, truncates (and writes on)
      // before the look checks the first bytes: the copy is found, the file queued behind it.
      await copytruncateInsideLook((t) => (op, p) => op === 'stat' && p === t.index, refill);
    },
  );
});
