/**
 * What a long explorer read costs everyone else: while each heavy read below is in flight, a
 * `/readyz` every 10 ms (what any other request, and the WebSocket pushes, wait for: the event
 * loop). Prints, per read and tree, the read's time and the slowest `/readyz` meanwhile (medians
 * over REPS), and `/readyz` alone. Trees one after the other on the same cached root and state
 * dir (bench/explorer.mjs made them; its catalog is complete).
 *
 *   node bench/explorer-stall.mjs REPS [TREE ...]   (TREE: a built tree; default this one)
 */
import fs from 'node:fs';
import path from 'node:path';
import { get, repoRoot, startServer } from './lib/proc.mjs';

const [repsArg = '5', ...treesArg] = process.argv.slice(2);
const trees = treesArg.length > 0 ? treesArg.map((d) => path.resolve(d)) : [repoRoot];
const root = path.join(repoRoot, '.bench-data/explorer-l1000000');
const stateDir = `${root}.state`;
const noWeb = `${root}.no-web`;
fs.mkdirSync(noWeb, { recursive: true });
const reads = [
  // An id prefix as typed into the search box: matches most of the catalog.
  ['facets q=ep-', '/api/episodes/facets?q=ep-'],
  ['facets q=e', '/api/episodes/facets?q=e'],
  ['page sort=size + q=ep-2026', '/api/episodes?sort=size&q=ep-2026'],
  ['page q=ep-20261013 (≈ 26k rows)', '/api/episodes?q=ep-20261013'],
  ['facets status + q=ep-2026', '/api/episodes/facets?status=missing&q=ep-2026'],
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const tree of trees) {
  const server = await startServer({
    dataRoot: root,
    stateDir,
    bin: path.join(tree, 'bin', 'cis490-dashboard.js'),
    // An empty web folder (the API alone), beside the state dir, not in the data root.
    args: ['--web-dir', noWeb],
  });
  try {
    await server.logLine((r) => r.msg === 'catalog caught up');
    const alone = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await get(`${server.url}/readyz`);
      alone.push(performance.now() - t);
    }
    console.log(
      `${path.basename(tree)}: /readyz alone p50 ${median(alone).toFixed(1)} ms, max ${Math.max(...alone).toFixed(1)} ms`,
    );
    for (const [label, url] of reads) {
      const took = [];
      const worst = [];
      for (let r = 0; r < Number(repsArg); r++) {
        // A new filter each time (a `to` past every row): nothing memoized, as after a commit.
        const t0 = performance.now();
        let done = false;
        const read = get(`${server.url}${url}&to=${2_000_000_000 + r * 1000 + trees.indexOf(tree)}`).then(
          () => {
            done = true;
            return performance.now() - t0;
          },
        );
        let slowest = 0;
        while (!done) {
          await new Promise((res) => setTimeout(res, 10));
          if (done) break;
          const t = performance.now();
          await get(`${server.url}/readyz`);
          slowest = Math.max(slowest, performance.now() - t);
        }
        took.push(await read);
        worst.push(slowest);
      }
      console.log(
        `${path.basename(tree)}: ${label.padEnd(34)} read ${median(took).toFixed(0).padStart(6)} ms, slowest /readyz meanwhile ${median(worst).toFixed(0).padStart(6)} ms`,
      );
    }
  } finally {
    await server.stop();
  }
}
