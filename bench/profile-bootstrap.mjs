/**
 * Where a cold bootstrap spends its CPU: runs one server with `--cpu-prof` on a generated root
 * until /readyz answers 200, stops it, and prints the main thread's heaviest functions by self
 * time (the profile behind BENCHMARKS.md's closing note).
 *
 *   node bench/profile-bootstrap.mjs [--lines 1000000] [--top 20]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureRoot, workDir } from './lib/data.mjs';
import { get, pollUntil, startServer } from './lib/proc.mjs';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    top: { type: 'string', default: '20' },
    // Any data root instead of a generated one (e.g. one from bench/foreign-root.py).
    root: { type: 'string' },
  },
});
const root = args.root
  ? path.resolve(args.root)
  : ensureRoot({ hosts: 24, episodes: 2000, indexLines: Number(args.lines) }, console.error);
const work = workDir('profile');
const profDir = path.join(work.dir, 'prof');
const server = await startServer({
  dataRoot: root,
  stateDir: path.join(work.dir, 'state'),
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
});
const ready = await pollUntil(
  async () => {
    const r = await get(`${server.url}/readyz`);
    return r.status === 200 && r.body;
  },
  { intervalMs: 20, what: 'ready' },
);
const exit = await server.stop(); // The profile is written on a clean exit.
if (exit.code !== 0) console.error('server exit', exit, server.logs.slice(-3));

// The main thread's profile is the first written (workers start later).
const file = fs
  .readdirSync(profDir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()[0];
const prof = JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
prof.samples.forEach((id, i) => {
  const dt = prof.timeDeltas[i] ?? 0;
  total += dt;
  const f = nodes.get(id).callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
});
console.log(
  `bootstrap of ${args.lines} lines: ready after ${ready.bootstrap_seconds} s; main-thread profile ${(total / 1e6).toFixed(2)} s (start-up to shutdown)`,
);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  console.log(
    `${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`,
  );
}
if (process.env.KEEP_PROF) fs.copyFileSync(path.join(profDir, file), process.env.KEEP_PROF);
work.cleanup();
