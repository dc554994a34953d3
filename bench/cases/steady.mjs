/**
 * Steady state: the server on a copy of a root, caught up (catalog included), snapshots every
 * `cycleSeconds`, 10 new index lines per cycle; its CPU per snapshot cycle read from /proc. The
 * seed re-reads the whole index every cycle, so its cost per cycle is one `_snapshot_state`.
 */
import path from 'node:path';
import { indexLine, openAppender } from '../lib/append.mjs';
import { copyRoot, workDir } from '../lib/data.mjs';
import {
  get,
  metric,
  pollUntil,
  procCpuSeconds,
  procMemory,
  procThreadCpu,
  startServer,
} from '../lib/proc.mjs';

/** Starts a server on a private copy of `root` and waits until the live state and catalog caught up. */
export async function caughtUpServer(root, lines, { args = [], prefix = 'steady' } = {}) {
  const work = workDir(prefix);
  const dataRoot = copyRoot(root, work.dir);
  let server;
  try {
    server = await startServer({ dataRoot, stateDir: path.join(work.dir, 'state'), args });
  } catch (err) {
    work.cleanup(); // A server that never listened leaves no copy of the root behind.
    throw err;
  }
  const t0 = performance.now();
  try {
    await pollUntil(async () => (await get(`${server.url}/readyz`)).status === 200, { what: 'ready' });
    await pollUntil(
      async () => {
        const m = (await get(`${server.url}/metrics`)).body;
        return (
          metric(m, 'catalog_committed_lines_total', 'source="index"') >= lines &&
          metric(m, 'phase_mix_refreshes_total') >= 1
        );
      },
      { intervalMs: 500, timeoutMs: 600_000, what: 'catalog catch-up' },
    );
    // The integrity verifier hashes every tarball once after the catalog fills: wait it out too,
    // until its thread ended for want of work (it ends after 10 s idle; /metrics, not the
    // explorer's facets: an explorer read starts the explorer thread, which an idle footprint must
    // not hold). Not the live state's integrity counts: they follow the snapshots, and the first
    // ones (at ready) had none to show, so that wait passed while the hashing had just begun.
    await pollUntil(
      async () => {
        const m = (await get(`${server.url}/metrics`)).body;
        return metric(m, 'verifier_thread_starts_total') >= 1 && metric(m, 'verifier_running') === 0;
      },
      { intervalMs: 500, timeoutMs: 600_000, what: 'verifier to settle' },
    );
  } catch (err) {
    await server.stop();
    work.cleanup();
    throw err;
  }
  const catchUpSeconds = (performance.now() - t0) / 1000;
  return {
    server,
    dataRoot,
    catchUpSeconds,
    async close() {
      await server.stop();
      work.cleanup();
    },
  };
}

/** Measures CPU per snapshot cycle over `cycles` cycles on an already caught-up server. */
export async function measureCycles(running, { cycles, cycleSeconds, linesPerCycle = 10, tag = 'steady' }) {
  const { server, dataRoot } = running;
  const appender = openAppender(path.join(dataRoot, 'index.jsonl'));
  const before = (await get(`${server.url}/metrics`)).body;
  const cpu0 = procCpuSeconds(server.pid);
  const threads0 = procThreadCpu(server.pid);
  const t0 = performance.now();
  let n = 0;
  for (let c = 0; c < cycles; c++) {
    let batch = '';
    for (let i = 0; i < linesPerCycle; i++) batch += indexLine(tag, n++);
    appender.write(batch);
    // Paced against the start, so the run holds `cycles` cycles whatever each write cost.
    const due = t0 + (c + 1) * cycleSeconds * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  appender.close();
  const cpu = procCpuSeconds(server.pid) - cpu0;
  const threads1 = procThreadCpu(server.pid);
  const seconds = (performance.now() - t0) / 1000;
  const after = (await get(`${server.url}/metrics`)).body;
  const snapshots =
    metric(after, 'events_published_total', 'type="snapshot"') -
    metric(before, 'events_published_total', 'type="snapshot"');
  return {
    cycles: snapshots,
    seconds,
    cpu,
    cpuPerCycle: cpu / Math.max(1, snapshots),
    cpuPerSecond: cpu / seconds,
    mainThreadCpu: threads1.main - threads0.main,
    otherThreadsCpu: threads1.others - threads0.others,
    linesAppended: n,
    rss: procMemory(server.pid).rss,
  };
}

/** Idle footprint: RSS after `settleSeconds` with nothing new (the server's own metric agrees). */
export async function idleFootprint(running, settleSeconds) {
  const { server } = running;
  // Sampled every second: after catching up, the verifier and the phase mix run once, and V8
  // gives back its heap in steps over the following seconds. The last sample is the idle figure.
  const samples = [];
  const count = Math.max(1, Math.round(settleSeconds));
  const step = (settleSeconds * 1000) / count;
  const t0 = performance.now();
  for (let k = 1; k <= count; k++) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + k * step - performance.now())));
    samples.push({ at: (performance.now() - t0) / 1000, rss: procMemory(server.pid).rss });
  }
  const m = (await get(`${server.url}/metrics`)).body;
  const mem = procMemory(server.pid);
  return { rss: mem.rss, peak: mem.peak, heapUsed: metric(m, 'heap_used_bytes'), samples };
}
