/**
 * Cold bootstrap: a fresh server process on a fresh state dir until it is ready, against the
 * seed's `_snapshot_state` in a fresh python3 process and `wc -l` (the floor), alternating.
 * Ready is seen on the server's own 'ready' log line (then confirmed by /readyz 200): polling
 * /readyz every few milliseconds would itself take the main thread's time from the pass it
 * measures. While ours boots, /livez is polled every 50 ms to show the server answers meanwhile.
 */
import path from 'node:path';
import { workDir } from '../lib/data.mjs';
import { get, metric, procCpuSeconds, procMemory, procThreadCpu, startServer, timed } from '../lib/proc.mjs';
import { seedSnapshot } from '../lib/seed.mjs';

const POLL_GAP_MS = 50;

/** One cold start of our server; resolves with its timings once ready (then stops it). */
export async function oursOnce(root) {
  const work = workDir('boot');
  try {
    const server = await startServer({ dataRoot: root, stateDir: path.join(work.dir, 'state') });
    const livez = [];
    try {
      let line = null;
      const readyLine = server
        .logLine((rec) => rec.msg === 'ready')
        .then((rec) => {
          line = rec;
        });
      while (!line) {
        livez.push((await get(`${server.url}/livez`)).seconds);
        // Wake on the ready line or after the poll gap, whichever comes first.
        let gap;
        await Promise.race([readyLine, new Promise((res) => (gap = setTimeout(res, POLL_GAP_MS)))]);
        clearTimeout(gap);
      }
      const ready = {
        wall: (line.at - server.t0) / 1000,
        cpu: procCpuSeconds(server.pid),
        mainCpu: procThreadCpu(server.pid).main,
      };
      const r = await get(`${server.url}/readyz`);
      if (r.status !== 200) throw new Error(`logged ready but /readyz answered ${r.status}`);
      ready.body = r.body;
      const m = (await get(`${server.url}/metrics`)).body;
      return {
        bootstrapSeconds: ready.body.bootstrap_seconds,
        wall: ready.wall,
        cpu: ready.cpu,
        mainCpu: ready.mainCpu,
        loopDelayMax: metric(m, 'event_loop_delay_max_seconds'),
        livezMax: Math.max(...livez),
        livezCount: livez.length,
        episodes: metric(m, 'episodes'),
        rss: procMemory(server.pid).rss,
      };
    } finally {
      await server.stop();
    }
  } finally {
    work.cleanup();
  }
}

export async function runBootstrap({ root, label, reps, seed, log }) {
  const index = path.join(root, 'index.jsonl');
  const ours = [];
  const seedRuns = [];
  const floor = [];
  for (let r = 0; r < reps; r++) {
    // Rotate the order so no contender always runs first (or always right after another).
    const order = [
      ['ours', 'seed', 'wc'],
      ['seed', 'wc', 'ours'],
      ['wc', 'ours', 'seed'],
    ][r % 3];
    for (const who of order) {
      if (who === 'ours') ours.push(await oursOnce(root));
      else if (who === 'wc') floor.push(await timed(['wc', '-l', index]));
      else if (seed.dir) seedRuns.push(await seedSnapshot(seed.dir, root));
    }
    log(`  bootstrap ${label} rep ${r + 1}/${reps} done`);
  }
  return { label, ours, seed: seedRuns, floor, seedMissing: seed.missing ?? null };
}
