/**
 * Phase-mix benchmark (issue 3): the Python feeder's `_compute_phase_mix` against ours on the same
 * generated data root, alternating, in one run; then an incremental refresh after new episodes.
 *
 *   npx tsc -p tsconfig.build.json   # builds dist/ (this script imports the compiled code)
 *   node bench/phase-mix.mjs [--episodes 2000] [--reps 5] [--refresh-reps 30] [--new 10] [--keep DIR] [--seed-dir DIR] [--json]
 *
 * --json adds one last line of medians for bench/run.mjs; --seed-dir is where feeder.py lives.
 * The incremental part times only `refresh()` (the new tarballs are written before the clock
 * starts); it is a quick refresh, never a full rescan (the service's full-scan period is 10 min),
 * and it repeats --refresh-reps times since a single refresh is a few milliseconds.
 *
 * Needs python3 and the `zstd` command (the seed shells out to it). Prints a table.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '..', 'dist');
const { PhaseMixService } = await import(path.join(dist, 'phasemix/index.js'));
const { generateDataRoot } = await import(path.join(dist, 'generate/generate.js'));
const { buildEpisodeTarball } = await import(path.join(dist, 'generate/episode.js'));
const { openDatabase } = await import(path.join(dist, 'catalog/db.js'));
const { silentLogger } = await import(path.join(dist, 'util/log.js'));

const { values: args } = parseArgs({
  options: {
    episodes: { type: 'string', default: '2000' },
    reps: { type: 'string', default: '5' },
    'refresh-reps': { type: 'string', default: '30' },
    new: { type: 'string', default: '10' },
    hosts: { type: 'string', default: '8' },
    keep: { type: 'string' },
    'seed-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const EPISODES = Number(args.episodes);
const REPS = Number(args.reps);
const NEW = Number(args.new);
const REFRESH_REPS = Number(args['refresh-reps']);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'phase-mix-bench-'));
const root = args.keep ?? path.join(work, 'root');
if (!fs.existsSync(path.join(root, 'episodes'))) {
  process.stderr.write(`generating ${EPISODES} episodes in ${root} ...\n`);
  await generateDataRoot({
    out: root,
    hosts: Number(args.hosts),
    episodes: EPISODES,
    alerts: 0,
    telemetryKb: 64,
    seed: 490,
  });
}
const population = countEpisodes(root);

function countEpisodes(dir) {
  let n = 0;
  for (const host of fs.readdirSync(path.join(dir, 'episodes'), { withFileTypes: true })) {
    if (!host.isDirectory()) continue;
    n += fs.readdirSync(path.join(dir, 'episodes', host.name)).filter((f) => f.endsWith('.tar.zst')).length;
  }
  return n;
}

function python() {
  const out = execFileSync(
    'python3',
    [
      path.join(here, 'phase-mix-seed.py'),
      root,
      String(population),
      ...(args['seed-dir'] ? [args['seed-dir']] : []),
    ],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  return JSON.parse(out);
}

async function ours(db) {
  const svc = new PhaseMixService({
    dataRoot: root,
    db,
    logger: silentLogger(),
    sample: 'all',
    publish() {},
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const mix = await svc.refresh();
  return { seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSince(c0), mix, stats: svc.stats() };
}

const runs = { python: [], oursMemory: [], oursSqlite: [] };
const cpu = { python: [], oursMemory: [], oursSqlite: [] };
let lastPy;
let lastOurs;
for (let r = 0; r < REPS; r++) {
  // Alternate which goes first so neither always gets the warmer caches.
  const order = r % 2 === 0 ? ['python', 'oursMemory', 'oursSqlite'] : ['oursSqlite', 'oursMemory', 'python'];
  for (const which of order) {
    if (which === 'python') {
      lastPy = python();
      runs.python.push(lastPy.seconds);
      cpu.python.push(lastPy.cpu_seconds);
    } else if (which === 'oursMemory') {
      lastOurs = await ours(null);
      runs.oursMemory.push(lastOurs.seconds);
      cpu.oursMemory.push(lastOurs.cpuSeconds);
    } else {
      const stateDir = fs.mkdtempSync(path.join(work, 'state-'));
      const db = openDatabase(stateDir);
      const res = await ours(db);
      db.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
      runs.oursSqlite.push(res.seconds);
      cpu.oursSqlite.push(res.cpuSeconds);
    }
  }
}

// Same numbers? Counts and labels must agree exactly; our seconds add the trailing phase (meta end).
const py = lastPy.mix;
const mine = lastOurs.mix;
const agree =
  JSON.stringify(sortKeys(py.counts)) === JSON.stringify(sortKeys(mine.counts)) &&
  py.total_labels === mine.total_labels &&
  py.sampled_episodes === mine.sampled_episodes &&
  py.population_episodes === mine.population_episodes;

// Incremental: a warm catalog, then NEW new episodes land; time the refresh that reads them.
const stateDir = fs.mkdtempSync(path.join(work, 'state-'));
const db = openDatabase(stateDir);
const svc = new PhaseMixService({ dataRoot: root, db, logger: silentLogger(), sample: 'all', publish() {} });
await svc.refresh();
const incremental = [];
const incrementalCpu = [];
const unchanged = [];
const unchangedCpu = [];
const hostDir = fs
  .readdirSync(path.join(root, 'episodes'), { withFileTypes: true })
  .find((d) => d.isDirectory()).name;
for (let r = 0; r < REFRESH_REPS; r++) {
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  await svc.refresh();
  unchanged.push((performance.now() - t0) / 1000);
  unchangedCpu.push(cpuSince(c0));
  const added = [];
  for (let i = 0; i < NEW; i++) {
    const file = path.join(root, 'episodes', hostDir, `bench-new-${r}-${i}.tar.zst`);
    const startMs = Date.UTC(2027, 0, 1) + (r * NEW + i) * 600_000;
    fs.writeFileSync(
      file,
      buildEpisodeTarball({
        episodeId: `bench-new-${r}-${i}`,
        hostId: hostDir,
        startMs,
        monoStartNs: 1e13 + (r * NEW + i) * 6e11,
        telemetryKb: 64,
        seed: 1000 + r * NEW + i,
      }),
    );
    added.push(file);
  }
  t0 = performance.now();
  c0 = process.cpuUsage();
  await svc.refresh();
  incremental.push((performance.now() - t0) / 1000);
  incrementalCpu.push(cpuSince(c0));
  const { files_read: read, full_scan: full } = svc.stats().last_refresh;
  if (read !== NEW) throw new Error(`incremental refresh read ${read} files, expected ${NEW}`);
  if (full) throw new Error('the incremental refresh was a full scan');
  for (const f of added) fs.rmSync(f);
  await svc.refresh(); // drops them again
}
db.close();

const pyMed = median(runs.python);
const memMed = median(runs.oursMemory);
const sqlMed = median(runs.oursSqlite);
const incMed = median(incremental);
const rows = [
  ['python seed _compute_phase_mix (cold)', runs.python, cpu.python, population],
  ['ours, cold, in-memory cache', runs.oursMemory, cpu.oursMemory, population],
  ['ours, cold, filling a new SQLite cache', runs.oursSqlite, cpu.oursSqlite, population],
  [`ours, refresh after ${NEW} new (warm SQLite)`, incremental, incrementalCpu, NEW],
  ['ours, refresh with nothing new', unchanged, unchangedCpu, 0],
];
console.log(
  `\nphase mix: ${population} episodes (${humanBytes(dirBytes(root))} of tarballs), ${REPS} alternating cold reps, ${REFRESH_REPS} refresh reps, node ${process.version}, ${os.cpus().length} cores\n`,
);
console.log(
  pad('run', 46),
  pad('wall median s', 14),
  pad('wall min..max s', 18),
  pad('episodes/s', 11),
  pad('CPU median s', 13),
  'CPU min..max s',
);
for (const [name, xs, cs, n] of rows) {
  const m = median(xs);
  console.log(
    pad(name, 46),
    pad(m.toFixed(4), 14),
    pad(`${Math.min(...xs).toFixed(4)}..${Math.max(...xs).toFixed(4)}`, 18),
    pad(n > 0 ? Math.round(n / m).toString() : '-', 11),
    pad(median(cs).toFixed(4), 13),
    `${Math.min(...cs).toFixed(4)}..${Math.max(...cs).toFixed(4)}`,
  );
}
console.log('');
console.log(`cold speed-up vs python, wall (in-memory):   ${(pyMed / memMed).toFixed(1)}x   (goal >= 10x)`);
console.log(`cold speed-up vs python, wall (SQLite fill): ${(pyMed / sqlMed).toFixed(1)}x`);
console.log(
  `cold speed-up vs python, CPU  (in-memory):   ${(median(cpu.python) / median(cpu.oursMemory)).toFixed(1)}x`,
);
console.log(
  `refresh after ${NEW} new / ours cold (SQLite): ${(incMed / sqlMed).toFixed(4)}   (${NEW}/${population + NEW} = ${(NEW / (population + NEW)).toFixed(4)})`,
);
console.log(
  `refresh after ${NEW} new / ${NEW} episodes of ours cold (SQLite): ${(incMed / ((sqlMed * NEW) / population)).toFixed(2)}x   (CPU: ${(median(incrementalCpu) / ((median(cpu.oursSqlite) * NEW) / population)).toFixed(2)}x)`,
);
console.log(`counts, labels, sampled and population equal python's: ${agree ? 'yes' : 'NO'}`);
console.log(
  `weighted seconds, python vs ours (ours adds each trailing phase up to meta t_mono_end_ns):\n${Object.keys(
    sortKeys({ ...py.weighted_seconds, ...mine.weighted_seconds }),
  )
    .map(
      (k) =>
        `  ${pad(k, 18)} ${pad((py.weighted_seconds[k] ?? 0).toFixed(1), 14)} ${(mine.weighted_seconds[k] ?? 0).toFixed(1)}`,
    )
    .join('\n')}`,
);
if (args.json) {
  console.log(
    JSON.stringify({
      population,
      reps: REPS,
      refresh_reps: REFRESH_REPS,
      new: NEW,
      python_wall: pyMed,
      python_cpu: median(cpu.python),
      ours_memory_wall: memMed,
      ours_memory_cpu: median(cpu.oursMemory),
      ours_sqlite_wall: sqlMed,
      ours_sqlite_cpu: median(cpu.oursSqlite),
      refresh_new_wall: incMed,
      refresh_new_cpu: median(incrementalCpu),
      refresh_none_wall: median(unchanged),
      agree,
    }),
  );
}
fs.rmSync(work, { recursive: true, force: true });
if (!agree) process.exitCode = 1;

function cpuSince(start) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
function pad(s, n) {
  return String(s).padEnd(n);
}
function sortKeys(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
function dirBytes(dir) {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return n;
}
function humanBytes(n) {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
