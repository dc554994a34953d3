/**
 * Steady-state CPU per snapshot cycle, split into the main thread and the other threads, for one
 * built tree (A/B: run it for each tree, alternating). 100 cycles of 0.1 s on the cached 76k-line
 * python root (`npm run bench -- --quick` makes it), 10 new lines a cycle.
 *
 *   node bench/steady-split.mjs [TREE] [ROOT]   (TREE: a built checkout, default this one)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tree = path.resolve(process.argv[2] ?? here);
const root = path.resolve(
  process.argv[3] ?? path.join(here, '.bench-data', 'root-h24-e2000-l76000-t16-s490-python'),
);
const { caughtUpServer, measureCycles } = await import(path.join(tree, 'bench/cases/steady.mjs'));
const running = await caughtUpServer(root, 76_000, { args: ['--snapshot-interval', '0.1'] });
try {
  const m = await measureCycles(running, { cycles: 100, cycleSeconds: 0.1 });
  const ms = (s) => ((s * 1000) / Math.max(1, m.cycles)).toFixed(2);
  console.log(
    `${tree}: ${m.cycles} cycles, CPU per cycle ${ms(m.cpu)} ms (main thread ${ms(m.mainThreadCpu)}, other threads ${ms(m.otherThreadsCpu)})`,
  );
} finally {
  await running.close();
}
