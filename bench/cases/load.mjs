/**
 * Append → WebSocket latency and fan-out: the server on a private copy of a root, the writer and
 * the clients in a separate process (bench/load/ws-load.mjs); the server's CPU and RSS sampled
 * from /proc meanwhile.
 */
import path from 'node:path';
import { procCpuSeconds, procMemory, procRunQueueWaitSeconds, repoRoot } from '../lib/proc.mjs';
import { runScript } from './external.mjs';

const loadScript = path.join(repoRoot, 'bench', 'load', 'ws-load.mjs');

/** Runs one load on an already caught-up server (see caughtUpServer); leaves it running. */
export async function runLoad(running, { clients, measured, rate, lines, tag }) {
  const { server } = running;
  {
    const cpu0 = procCpuSeconds(server.pid);
    const wait0 = procRunQueueWaitSeconds(server.pid);
    const t0 = performance.now();
    let maxRss = procMemory(server.pid).rss;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, procMemory(server.pid).rss);
    }, 250);
    const opts = {
      url: server.url,
      index: path.join(running.dataRoot, 'index.jsonl'),
      clients,
      measured,
      rate,
      lines,
      tag,
    };
    // Bounded: the load process ends by itself; the timeout is the backstop.
    const run = await runScript(loadScript, [JSON.stringify(opts)], {
      timeoutMs: (lines / rate + 120) * 1000,
    }).finally(() => clearInterval(sampler));
    const serverCpu = procCpuSeconds(server.pid) - cpu0;
    const serverWait = procRunQueueWaitSeconds(server.pid) - wait0;
    const seconds = (performance.now() - t0) / 1000;
    if (run.code !== 0 || !run.json) throw new Error(`load generator failed (${run.code}): ${run.text}`);
    const result = run.json;
    return {
      ...result,
      server_cpu_seconds: serverCpu,
      server_cpu_share: serverCpu / seconds,
      server_runqueue_wait_seconds: serverWait,
      load_seconds: seconds,
      server_max_rss: maxRss,
    };
  }
}
