#!/usr/bin/env node
/**
 * Idle footprint A/B (issue 12: idle RSS <= 150 MB 30 s after catch-up). For each built tree, in
 * turn (alternating over REPS), starts `serve` on ROOT with a fresh state dir (a cold catalog: the
 * whole index is caught up) and samples the server's memory from /proc every second:
 * ready (/readyz 200), catalog complete (every index line in the explorer's facets), verifier
 * settled (no row unverified), then 30 s after catalog complete ("catch-up") and AFTER s after it.
 * RSS figures are MiB (/proc/PID/smaps_rollup: Rss, Anonymous, file-backed = Rss - Anonymous).
 *
 *   node bench/footprint.mjs --root .bench-data/root-h24-e2000-l1000000-t16-s490-python \
 *     [--reps 1] [--after 60] [--env KEY=VALUE] TREE...
 *
 * TREE is a built tree (`npm run build`); the state dirs go to a temp folder, removed after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get, startServer } from './lib/proc.mjs';

const args = process.argv.slice(2);
const trees = [];
const opts = { reps: 1, after: 60, root: null, env: {} };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--root') opts.root = args[++i];
  else if (a === '--reps') opts.reps = Number(args[++i]);
  else if (a === '--after') opts.after = Number(args[++i]);
  else if (a === '--env') {
    const [k, ...v] = args[++i].split('=');
    opts.env[k] = v.join('=');
  } else trees.push(path.resolve(a));
}
if (!opts.root || trees.length === 0) {
  process.stderr.write('usage: footprint.mjs --root ROOT [--reps N] [--after S] TREE...\n');
  process.exit(2);
}
const root = path.resolve(opts.root);
const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

function mem(pid) {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const rss = kb('Rss') / 1024;
  const anon = kb('Anonymous') / 1024;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return {
    rss: +rss.toFixed(1),
    anon: +anon.toFixed(1),
    file: +(rss - anon).toFixed(1),
    peak: +hwm.toFixed(1),
    threads,
  };
}

/** A GET that never throws: status 0 while the server cannot answer. */
async function getJson(url) {
  try {
    return await get(url);
  } catch {
    return { status: 0, body: null };
  }
}

async function runOnce(tree, tmp) {
  const stateDir = fs.mkdtempSync(path.join(tmp, 'state-'));
  const server = await startServer({
    dataRoot: root,
    stateDir,
    bin: path.join(tree, 'bin', 'cis490-dashboard.js'),
    args: ['--web-dir', noWebDir(tmp)],
    env: opts.env,
  });
  const { url, t0 } = server;
  let episodes = Number.POSITIVE_INFINITY;
  const at = {};
  const timeline = [];
  let catalogAt = null;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = (performance.now() - t0) / 1000;
      let m;
      try {
        m = mem(server.pid);
      } catch {
        throw new Error('server exited');
      }
      timeline.push([+s.toFixed(0), m.rss]);
      if (!at.ready && (await getJson(`${url}/readyz`)).status === 200) {
        at.ready = { s: +s.toFixed(1), ...m };
        // The episodes the catalog must hold: the live total (a receiver's index may repeat an id,
        // so it can be fewer than the lines).
        episodes = (await getJson(`${url}/api/state`)).body.total_episodes;
      }
      if (!at.ready) continue;
      if (!at.settled) {
        const f = await getJson(`${url}/api/episodes/facets`);
        if (f.status === 200) {
          const total = Object.values(f.body.status).reduce((a, b) => a + b, 0);
          if (total >= episodes && !at.catalog) {
            at.catalog = { s: +s.toFixed(1), ...m };
            catalogAt = s;
          }
          if (total >= episodes && (f.body.status.unverified ?? 0) === 0)
            at.settled = { s: +s.toFixed(1), ...m };
        }
      }
      if (catalogAt !== null && !at.plus30 && s >= catalogAt + 30) at.plus30 = { s: +s.toFixed(1), ...m };
      if (catalogAt !== null && s >= catalogAt + opts.after) {
        at[`plus${opts.after}`] = { s: +s.toFixed(1), ...m };
        break;
      }
    }
  } finally {
    await server.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  return { at, timeline };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-footprint-'));
const results = [];
try {
  for (let rep = 0; rep < opts.reps; rep++) {
    for (const tree of trees) {
      const load = os.loadavg()[0].toFixed(2);
      const r = await runOnce(tree, tmp);
      log(`${tree} rep ${rep + 1} (load ${load}): ${JSON.stringify(r.at)}`);
      log(`  timeline (s, RSS MiB): ${r.timeline.map(([s, v]) => `${s}:${v.toFixed(0)}`).join(' ')}`);
      results.push({ tree, rep, load: Number(load), ...r });
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify({ root, after_s: opts.after, results: results.map(({ timeline, ...r }) => r) }));

/** An empty web folder under `tmp` (the API alone). */
function noWebDir(tmp) {
  const dir = path.join(tmp, 'no-web');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
