/**
 * Catalog complete, A/B: for each built tree in turn (alternating over REPS), a server on a cached
 * 1M-line root with a fresh state dir until its catalog holds every line and the explorer's
 * indexes are built (bench/cases/catalog.mjs). Prints both wall times from process start, the
 * process CPU and each thread's CPU when the rows were in, the CPU once indexed, and the first
 * pass's `bootstrap_seconds`.
 *
 *   node bench/catalog-complete.mjs STYLE|ROOT REPS [TREE ...]   (TREE: a built tree; default this one)
 *
 * STYLE names a cached generated root (python, compact, mixed; `foreign` links to the root
 * bench/foreign-root.py wrote); a path (with a '/') is any other root.
 */
import os from 'node:os';
import path from 'node:path';
import { catalogCompleteOnce, topThreads } from './cases/catalog.mjs';
import { lineCount } from './lib/data.mjs';
import { repoRoot } from './lib/proc.mjs';

const [style = 'python', repsArg = '1', ...treesArg] = process.argv.slice(2);
const trees = treesArg.length > 0 ? treesArg.map((d) => path.resolve(d)) : [repoRoot];
const root = style.includes('/')
  ? path.resolve(style)
  : path.join(repoRoot, `.bench-data/root-h24-e2000-l1000000-t16-s490-${style}`);
const lines = lineCount(path.join(root, 'index.jsonl'));

for (let r = 0; r < Number(repsArg); r++) {
  for (const tree of r % 2 ? [...trees].reverse() : trees) {
    const loadBefore = os.loadavg()[0].toFixed(1);
    const c = await catalogCompleteOnce({ root, lines, tree });
    console.log(
      `${path.basename(tree)} ${style}: rows ${c.rowsSeconds.toFixed(1)} s, indexed ${c.indexedSeconds.toFixed(2)} s (logged caught up ${c.caughtUpSeconds?.toFixed(2) ?? '-'} s; CPU ${c.indexedCpu.toFixed(2)} s), first pass ${c.bootstrapSeconds} s, CPU at rows ${c.rowsCpu.toFixed(2)} s (${topThreads(c.threads)}), load ${loadBefore} → ${c.load.toFixed(1)}`,
    );
  }
}
