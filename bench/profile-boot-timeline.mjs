/**
 * Where a cold bootstrap's wall time goes, thread by thread: runs one server with `--cpu-prof`
 * on the cached 1M-line root of one index style until its 'ready' log line, stops it, and prints
 * for the main thread and each worker thread (the first pass's scanner, the catalog writer) how
 * much of the window from process start to ready it was busy, its heaviest functions within
 * that window, and a timeline in buckets (busy share and the heaviest function of each).
 * The window's end is the 'ready' line as read by this process, so it slightly overshoots.
 *
 *   node bench/profile-boot-timeline.mjs [--style python] [--bucket 100] [--top 12] [--samples] [--from createPipeline]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureRoot, workDir } from './lib/data.mjs';
import { startServer } from './lib/proc.mjs';

const { values: args } = parseArgs({
  options: {
    style: { type: 'string', default: 'python' },
    bucket: { type: 'string', default: '100' },
    top: { type: 'string', default: '12' },
    samples: { type: 'boolean', default: false },
    /** The window starts at the main thread's first sample under this function (e.g. createPipeline). */
    from: { type: 'string' },
  },
});
/** Where a sample's time is charged: the first of these functions up its stack (in this order). */
const CATEGORIES = [
  ['app build', ['buildApp']],
  ['dedupe', ['acceptHashes', 'addBatch']],
  ['scan', ['scanHere', 'scanIndexRange']],
  ['catalog hand-off', ['toPersistBatch', 'persistCompact']],
  ['live projection', ['append']],
  ['episodes/', ['scanHosts', 'listHost', 'statEpisode', 'listEpisodeNames', 'mapLimit']],
  ['health/', ['scanAll', 'readOne']],
  ['first pass (other)', ['scanRanges', 'deliverCompact']],
  ['worker messages', ['onmessage', 'emitMessage']],
  ['start-up', ['startServices', 'createPipeline', 'main', 'run']],
];
const root = ensureRoot({ hosts: 24, episodes: 2000, indexLines: 1_000_000, indexStyle: args.style });
const work = workDir('profile-timeline');
const profDir = path.join(work.dir, 'prof');
try {
  const server = await startServer({
    dataRoot: root,
    stateDir: path.join(work.dir, 'state'),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  });
  const ready = await server.logLine((rec) => rec.msg === 'ready');
  const readyWall = (ready.at - server.t0) / 1000;
  const exit = await server.stop();
  if (exit.code !== 0) console.error('server exit', exit);
  const files = fs
    .readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const profs = files.map((f) => ({ f, p: JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')) }));
  // The main thread's profile starts first: every window is measured from its start.
  const t0 = Math.min(...profs.map(({ p }) => p.startTime));
  const endUs = t0 + readyWall * 1e6;
  console.log(
    `${args.style}: ready ${ready.bootstrap_seconds} s after the live state began, ${readyWall.toFixed(2)} s after spawn`,
  );
  const bucketUs = Number(args.bucket) * 1000;
  const startUs = args.from ? firstSampleUnder(profs[0].p, args.from) : t0;
  if (args.from)
    console.log(`window from the first sample under ${args.from}: +${((startUs - t0) / 1000).toFixed(0)} ms`);

  for (const { f, p } of profs) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    /** The first of CATEGORIES found up a sample's stack (by function name), else its own name. */
    const categoryOf = (id) => {
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const name = nodes.get(at).callFrame.functionName;
        const hit = CATEGORIES.find(([, names]) => names.includes(name));
        if (hit) return hit[0];
      }
      return 'other';
    };
    const cats = new Map();
    /** `category|function` → time: what each caller spends its time in. */
    const catFns = new Map();
    const self = new Map();
    const buckets = [];
    let t = p.startTime;
    let busy = 0;
    p.samples.forEach((id, i) => {
      const dt = p.timeDeltas[i] ?? 0;
      t += dt;
      if (t > endUs || t < startUs) return;
      const fr = nodes.get(id).callFrame;
      const name = fr.functionName || '(anonymous)';
      const where = fr.url ? `${path.basename(fr.url)}:${fr.lineNumber + 1}` : '';
      const key = `${name} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + dt);
      const b = Math.floor((t - t0) / bucketUs);
      buckets[b] ??= { busy: 0, fns: new Map() };
      if (name !== '(idle)') {
        const c = ['(garbage collector)', '(program)'].includes(name) ? name : categoryOf(id);
        // Samples, not their spacing, under --samples: on a loaded box a thread off its core
        // stretches the spacing, while the count stays near its time on a core.
        cats.set(c, (cats.get(c) ?? 0) + (args.samples ? 1000 : dt));
        catFns.set(`${c}|${name}`, (catFns.get(`${c}|${name}`) ?? 0) + (args.samples ? 1000 : dt));
        busy += dt;
        buckets[b].busy += dt;
        buckets[b].fns.set(key, (buckets[b].fns.get(key) ?? 0) + dt);
      }
    });
    const startMs = (p.startTime - t0) / 1000;
    console.log(
      `\n== ${f} (starts +${startMs.toFixed(0)} ms): busy ${(busy / 1000).toFixed(0)} ms of the window`,
    );
    console.log(
      `  by caller: ${[...cats]
        .sort((a, b) => b[1] - a[1])
        .map(([k, us]) => `${k} ${(us / 1000).toFixed(0)}`)
        .join(', ')}`,
    );
    for (const [c] of [...cats].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
      const fns = [...catFns]
        .filter(([k]) => k.startsWith(`${c}|`))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([k, us]) => `${k.slice(c.length + 1)} ${(us / 1000).toFixed(0)}`);
      console.log(`    ${c}: ${fns.join(', ')}`);
    }
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top)))
      console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
    buckets.forEach((b, i) => {
      if (!b) return;
      const top = [...b.fns]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([k, us]) => `${k.split(' ')[0]} ${(us / 1000).toFixed(0)}`)
        .join(', ');
      console.log(
        `  ${String(i * Number(args.bucket)).padStart(5)} ms busy ${((b.busy / bucketUs) * 100).toFixed(0).padStart(3)}%  ${top}`,
      );
    });
  }
} finally {
  work.cleanup();
}

/** The time of the first sample of `p` with `fn` on its stack (the profile's start if none). */
function firstSampleUnder(p, fn) {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let t = p.startTime;
  for (const [i, id] of p.samples.entries()) {
    t += p.timeDeltas[i] ?? 0;
    for (let at = id; at !== undefined; at = parent.get(at))
      if (nodes.get(at).callFrame.functionName === fn) return t;
  }
  return p.startTime;
}
