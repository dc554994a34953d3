#!/usr/bin/env node
/**
 * Scale-out foundation benchmark (issue 13), standalone (not part of `npm run bench` yet): a real
 * `redis-server` (AOF, appendfsync always) in a temp dir, and RedisStreamLog clients in this process.
 *
 *   npm run build:server
 *   node bench/redis-stream.mjs [--seconds 5] [--batch 500] [--agents 3] [--pings 500]
 *
 * 1. Throughput: `--agents` clients (one connection each) append keyed batches of `--batch`
 *    index-like episode events through the append script for `--seconds`; lines/s over all.
 *    A subscriber reads everything at the same time and must see every seq once, in order.
 * 2. Latency: append → subscriber, one event per append, `--pings` appends one after another,
 *    idle stream; then the same while the agents append at full speed. p50/p99 in ms.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const { RedisStreamLog } = await import('../dist/scaleout/redis-stream-log.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const SECONDS = opt('seconds', 5);
const BATCH = opt('batch', 500);
const AGENTS = opt('agents', 3);
const PINGS = opt('pings', 500);

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited (${code}): is the redis-server package installed?`)),
    );
  });
  const version = (await import('node:child_process'))
    .execFileSync('redis-server', ['--version'])
    .toString()
    .trim();
  return {
    url: `redis://127.0.0.1:${port}`,
    version,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
// A pool of digests, so the clock measures the append path rather than this generator.
const SHAS = Array.from({ length: 997 }, () => hex(64));
/** An index-line-sized episode event (~250 bytes of JSON). */
function event(receiver, n, extra) {
  return {
    type: 'episode',
    episode_id: `${receiver}-ep-${String(n).padStart(9, '0')}`,
    host_id: `host-${String(n % 40).padStart(2, '0')}`,
    sha256: SHAS[n % SHAS.length],
    size_bytes: 1_000_000 + n,
    received_at: new Date().toISOString(),
    path: `episodes/host-${String(n % 40).padStart(2, '0')}/${receiver}-ep-${n}.tar.zst`,
    ...(extra ? { extra } : {}),
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (x) => Number(x.toFixed(2));

const redis = await startRedis();
try {
  const reader = await RedisStreamLog.open({ url: redis.url, blockMs: 1000 });
  const latencies = [];
  let expectNext = 1;
  let received = 0;
  let wake = () => {};
  const sub = await reader.subscribe(1, {
    records(batch) {
      const now = performance.now();
      for (const { event: e } of batch) {
        if (e.seq !== expectNext) throw new Error(`subscriber got seq ${e.seq}, expected ${expectNext}`);
        expectNext += 1;
        if (e.extra?.t0 !== undefined) latencies.push(now - e.extra.t0);
      }
      received += batch.length;
      wake();
    },
    reset(reason) {
      throw new Error(`subscriber reset: ${reason}`);
    },
    error(err) {
      console.error(err);
      process.exitCode = 1;
    },
  });
  const waitReceived = (n) =>
    new Promise((resolve) => {
      wake = () => received >= n && resolve();
      wake();
    });

  // ── latency, idle stream ──
  const pinger = await RedisStreamLog.open({ url: redis.url });
  const ping = async (count, into) => {
    for (let i = 0; i < count; i++) {
      const before = latencies.length;
      await pinger.append({ receiver: 'pinger', events: [event('pinger', i, { t0: performance.now() })] });
      // one after another: wait until the subscriber saw it before the next
      await new Promise((resolve) => {
        const prev = wake;
        wake = () => {
          prev();
          if (latencies.length > before) resolve();
        };
        wake();
      });
    }
    return latencies
      .splice(0)
      .sort((a, b) => a - b)
      .concat(into ?? []);
  };
  const idle = await ping(PINGS);
  latencies.length = 0;

  // ── throughput, AGENTS clients, keyed batches ──
  const agents = await Promise.all(
    Array.from({ length: AGENTS }, () => RedisStreamLog.open({ url: redis.url })),
  );
  const deadline = performance.now() + SECONDS * 1000;
  let lines = 0;
  const t0 = performance.now();
  const loaded = [];
  const loadRun = Promise.all(
    agents.map(async (log, k) => {
      const receiver = `rack-${k}`;
      let offset = 0;
      for (let b = 0; performance.now() < deadline; b++) {
        const events = Array.from({ length: BATCH }, (_, i) => event(receiver, b * BATCH + i));
        const result = await log.append({
          receiver,
          mark: {
            source: 'index.jsonl',
            fileId: `${receiver}:F1`,
            startOffset: offset,
            endOffset: offset + BATCH * 250,
          },
          events,
        });
        if (result.status !== 'appended') throw new Error(`append ${result.status}`);
        offset += BATCH * 250;
        lines += BATCH;
      }
    }),
  );
  // latency under load: pings while the agents run (fewer, spread over the run)
  const pingUnderLoad = (async () => {
    while (performance.now() < deadline - 200) loaded.push(...(await ping(1)));
  })();
  await Promise.all([loadRun, pingUnderLoad]);
  const elapsed = (performance.now() - t0) / 1000;
  const appended = await reader.lastSeq();
  await waitReceived(appended);
  const drained = (performance.now() - t0) / 1000;
  loaded.sort((a, b) => a - b);

  const result = {
    redis: redis.version,
    node: process.version,
    agents: AGENTS,
    batch_lines: BATCH,
    seconds: ms(elapsed),
    lines_appended: lines,
    append_lines_per_s: Math.round(lines / elapsed),
    subscriber_received: received,
    subscriber_in_order_no_gap: expectNext === appended + 1,
    subscriber_drained_lines_per_s: Math.round(received / drained),
    latency_idle_ms: { n: idle.length, p50: ms(pct(idle, 50)), p99: ms(pct(idle, 99)), max: ms(idle.at(-1)) },
    latency_under_load_ms: {
      n: loaded.length,
      p50: ms(pct(loaded, 50)),
      p99: ms(pct(loaded, 99)),
      max: ms(loaded.at(-1)),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  await sub.close();
  await Promise.all([reader, pinger, ...agents].map((log) => log.close()));
} finally {
  await redis.stop();
}
