/**
 * Cold bootstrap of two or more builds side by side (and the seed), alternating, on the cached
 * 1M-line root of one index style: each DIR is a built tree with its own bench/ (e.g. an old
 * commit from `git archive` with node_modules linked and `npx tsc -p tsconfig.build.json` run).
 * Prints each run (in-process first pass, whole-process wall to /readyz, whole-process and
 * main-thread CPU, RSS, load) and
 * the medians. SEED=0 leaves the seed out.
 *
 *   node bench/ab-boot.mjs python 3 /tmp/old-build .
 *   node bench/ab-boot.mjs .bench-data/root-foreign-l1000000 2 /tmp/old-build .   # any root by path
 */
import os from 'node:os';
import path from 'node:path';

const [style, repsArg, ...dirs] = process.argv.slice(2);
// STYLE names a cached generated root; a path (with a '/') is any other root, e.g. one from
// bench/foreign-root.py.
const root = style.includes('/')
  ? path.resolve(style)
  : path.resolve(
      new URL('..', import.meta.url).pathname,
      `.bench-data/root-h24-e2000-l1000000-t16-s490-${style}`,
    );
const mods = await Promise.all(dirs.map((d) => import(path.resolve(d, 'bench/cases/bootstrap.mjs'))));
const { seedSnapshot } = await import(path.resolve(dirs[0], 'bench/lib/seed.mjs'));
const withSeed = process.env.SEED !== '0';
const res = {};
for (let r = 0; r < Number(repsArg); r++) {
  const order = dirs.map((_d, i) => i);
  if (r % 2) order.reverse();
  for (const i of order) {
    const o = await mods[i].oursOnce(root);
    res[dirs[i]] ??= [];
    res[dirs[i]].push(o);
    console.log(
      `${path.basename(dirs[i])} ${style} boot ${o.bootstrapSeconds} wall ${o.wall.toFixed(3)} cpu ${o.cpu} main ${o.mainCpu} rss ${(o.rss / 1048576).toFixed(0)}MiB load ${os.loadavg()[0].toFixed(1)}`,
    );
  }
  if (withSeed) {
    const s = await seedSnapshot('/work/shared/seed', root);
    res.seed ??= [];
    res.seed.push(s);
    console.log(
      `seed ${style} fn ${s.seconds.toFixed(2)} fncpu ${s.cpu_seconds.toFixed(2)} load ${os.loadavg()[0].toFixed(1)}`,
    );
  }
}
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
for (const d of dirs)
  console.log(
    `SUMMARY ${path.basename(d)} ${style}: boot med ${med(res[d].map((o) => o.bootstrapSeconds))} best ${Math.min(...res[d].map((o) => o.bootstrapSeconds))} wall med ${med(res[d].map((o) => o.wall)).toFixed(3)} main cpu med ${med(res[d].map((o) => o.mainCpu))} cpu med ${med(res[d].map((o) => o.cpu))}` +
      (res.seed
        ? ` seed/ours ${(med(res.seed.map((s) => s.seconds)) / med(res[d].map((o) => o.bootstrapSeconds))).toFixed(2)}x of medians, ${(Math.min(...res.seed.map((s) => s.seconds)) / Math.min(...res[d].map((o) => o.bootstrapSeconds))).toFixed(2)}x best of each`
        : ''),
  );
