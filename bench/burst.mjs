/**
 * A burst of new tarballs into one host folder of a serving dashboard (issue 14, item 1): /livez
 * polled back to back the whole time, RSS sampled, until the host's count and bytes are exact.
 * Then `--more` files into the same, now large, folder.
 *
 *   node bench/burst.mjs                                  # 20,000 then 2,000, this checkout
 *   node bench/burst.mjs --files 200000 --more 20000
 *   node bench/burst.mjs --bin /tmp/old/bin/cis490-dashboard.js   # another build, for before/after
 *   node bench/burst.mjs --node-arg=--cpu-prof --node-arg=--cpu-prof-dir=/tmp/prof   # profile the server
 *
 * Prints one JSON line per phase: worst and p99 /livez latency, seconds until exact, peak RSS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { get, metric, procMemory, startServer } from './lib/proc.mjs';
import { percentile } from './lib/stats.mjs';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    more: { type: 'string', default: '2000' },
    bin: { type: 'string' },
    'deadline-s': { type: 'string', default: '600' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'stop-grace-s': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    [
      'node bench/burst.mjs [--files N] [--more N] [--bin CLI] [--deadline-s S] [--node-arg ARG]...',
      '  --files N       tarballs written into episodes/host-big/ by 16 writers (default 20000)',
      '  --more N        then N more into the same, now large, folder (default 2000; 0 skips)',
      '  --bin CLI       the bin/cis490-dashboard.js of another build (before/after)',
      '  --deadline-s S  give up on a phase after S seconds (default 600)',
      '  --node-arg ARG  a node flag for the server (repeatable), e.g. --cpu-prof',
      '  --stop-grace-s S  wait S seconds for a clean exit after SIGTERM before SIGKILL (default 8;',
      '                  120 with --cpu-prof/--heap-prof, which write their file only on a clean exit)',
      'Prints one JSON line per phase: /livez worst and p99 ms, seconds until exact, peak RSS MiB.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const HOST = 'host-big';
const WRITERS = 16;
const deadlineMs = Number(args['deadline-s']) * 1000;
const profiling = args['node-arg'].some((a) => /^--(cpu|heap)-prof/.test(a));
const stopGraceMs = Number(args['stop-grace-s'] ?? (profiling ? 120 : 8)) * 1000;

/** Three real episodes (tar + zstd), of three sizes. */
function tarballs(dir) {
  return [1, 5, 9].map((labels) => {
    const src = fs.mkdtempSync(path.join(dir, 'ep-'));
    fs.mkdirSync(path.join(src, 'ep'));
    const lines = Array.from({ length: labels }, (_, i) =>
      JSON.stringify({ phase: `p${i % 3}`, t_mono_ns: i * 1e9 }),
    );
    fs.writeFileSync(path.join(src, 'ep', 'labels.jsonl'), `${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(src, 'ep', 'meta.json'), JSON.stringify({ t_mono_end_ns: labels * 1e9 }));
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'ep']);
    return execFileSync('zstd', ['-q', '-c'], { input: tar });
  });
}

async function writeBurst(dir, from, count, data) {
  let next = from;
  let bytes = 0;
  const writer = async () => {
    while (next < from + count) {
      const i = next++;
      const buf = data[i % data.length];
      const name = `ep-${String(i).padStart(7, '0')}.tar.zst`;
      await fsp.writeFile(path.join(dir, `.${name}.tmp`), buf);
      await fsp.rename(path.join(dir, `.${name}.tmp`), path.join(dir, name));
      bytes += buf.length;
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return bytes;
}

/** /livez back to back; a poll still pending when stopped counts with its time so far. */
function pollLivez(url) {
  const latencies = [];
  let stopped = false;
  let pendingSince = null;
  const loop = (async () => {
    while (!stopped) {
      pendingSince = performance.now();
      await get(`${url}/livez`, { timeoutMs: deadlineMs });
      latencies.push(performance.now() - pendingSince);
      pendingSince = null;
    }
  })();
  return {
    stop() {
      stopped = true;
      const stuck = pendingSince === null ? [] : [performance.now() - pendingSince];
      void loop.catch(() => {});
      return [...latencies, ...stuck];
    },
  };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-bench-burst-'));
try {
  const root = path.join(work, 'data');
  const dir = path.join(root, 'episodes', HOST);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(root, 'index.jsonl'), '');
  const data = tarballs(work);
  const server = await startServer({
    dataRoot: root,
    stateDir: path.join(work, 'state'),
    args: ['--rescan-interval', '3600'],
    nodeArgs: args['node-arg'],
    ...(args.bin ? { bin: path.resolve(args.bin) } : {}),
  });
  try {
    let expected = 0;
    let total = 0;
    for (const [phase, count] of [
      ['burst', Number(args.files)],
      ['more', Number(args.more)],
    ]) {
      const livez = pollLivez(server.url);
      let peakRss = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, procMemory(server.pid).rss);
      }, 100);
      const t0 = performance.now();
      expected += await writeBurst(dir, total, count, data);
      total += count;
      const written = performance.now();
      let exact = false;
      // /api/state may itself wait on a stalled loop: its own time counts against the deadline.
      while (!exact && performance.now() - t0 < deadlineMs) {
        const res = await get(`${server.url}/api/state`, { timeoutMs: deadlineMs }).catch(() => null);
        const s = res?.body;
        exact = s?.host_counts?.[HOST] === total && s?.host_bytes?.[HOST] === expected;
        if (!exact) await new Promise((r) => setTimeout(r, 200));
      }
      const latencies = livez.stop();
      clearInterval(sampler);
      // The server's own worst event-loop delay since start (its histogram, not a poll's view).
      const metrics = await get(`${server.url}/metrics`, { timeoutMs: deadlineMs }).catch(() => null);
      const loopMax = metric(String(metrics?.body ?? ''), 'event_loop_delay_max_seconds');
      const line = {
        phase,
        files: count,
        folder_after: total,
        exact,
        write_s: +((written - t0) / 1000).toFixed(1),
        exact_after_s: exact ? +((performance.now() - t0) / 1000).toFixed(1) : null,
        livez_polls: latencies.length,
        livez_worst_ms: Math.round(latencies.reduce((a, b) => Math.max(a, b), 0)),
        livez_p99_ms: Math.round(percentile(latencies, 99) || 0),
        loop_delay_max_ms_since_start: Number.isFinite(loopMax) ? Math.round(loopMax * 1000) : null,
        rss_peak_mib: Math.round(peakRss / 2 ** 20),
        vmhwm_mib: Math.round(procMemory(server.pid).peak / 2 ** 20),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (!exact) break;
    }
  } finally {
    const exit = await server.stop(stopGraceMs);
    if (profiling && exit.signal === 'SIGKILL')
      process.stderr.write('server was killed: no profile written\n');
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
