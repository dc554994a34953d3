/**
 * Scale-out (issue 13), side by side with the single box in one run: a real `redis-server` (AOF,
 * appendfsync always) in a temp dir, three agents on three data roots, two replicas
 * (`serve --redis`) behind the round-robin balancer `demo --cluster` uses (dist/scaleout/
 * balancer.js); and a single `serve --data-root` on a fourth root for the same loads.
 *
 * 1. append → browser (a WebSocket client through the balancer) latency, one writer at `rate`
 *    lines/s (bench/load/ws-load.mjs, as the single-box latency case);
 * 2. throughput: three writers append `lines` lines each as fast as they can; sustained lines/s =
 *    all lines / (first write → both replicas' totals equal to every line written); exact totals
 *    are the no-loss check;
 * 3. viewer failover: a viewer on replica A while a writer appends at 100 lines/s; A is SIGKILLed;
 *    the viewer reconnects at once through the balancer with ?since=&epoch= (the web app waits
 *    its first backoff step, ≤ 0.5 s, before that) and the time from the kill to the first event
 *    it had missed is measured, with a check that the seqs run on without gap or duplicate;
 * 4. each replica's RSS idle after the loads (and the single box's).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';
import WebSocket from 'ws';
import { indexLine, openAppender } from '../lib/append.mjs';
import { get, pollUntil, procCpuSeconds, procMemory, repoRoot } from '../lib/proc.mjs';
import { runScript } from './external.mjs';

const cli = path.join(repoRoot, 'bin', 'cis490-dashboard.js');
const loadScript = path.join(repoRoot, 'bench', 'load', 'ws-load.mjs');
// CIS490_BENCH_CPU_PROF=DIR: the agents, replicas and single box write V8 CPU profiles there
// (`--cpu-prof`; written at a clean exit, so not for the replica the failover SIGKILLs).
const nodeArgs = process.env.CIS490_BENCH_CPU_PROF
  ? ['--cpu-prof', '--cpu-prof-dir', process.env.CIS490_BENCH_CPU_PROF]
  : [];

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Spawns a long-running child and resolves with the first match of `ready` in its output. */
function spawnUntil(cmd, args, ready, what) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const onData = (c) => {
      out = (out + c).slice(-8000);
      const m = ready.exec(out);
      if (m) resolve({ child, pid: child.pid, match: m, exited, output: () => out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`${what} exited (${code ?? signal}) before ready: ${out}`)),
    );
  });
}

async function stop(p) {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 8000);
  await p.exited;
  clearTimeout(timer);
}

function emptyRoot(dir) {
  fs.mkdirSync(path.join(dir, 'episodes'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'health'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.jsonl'), '');
  fs.writeFileSync(path.join(dir, 'alerts.jsonl'), '');
}

const totalOf = async (url) => (await get(`${url}/api/state`)).body?.total_episodes ?? -1;

/**
 * `lines` index lines per file, made beforehand in 1,000-line chunks (so the clock measures the
 * dashboards, not this generator); `write()` appends them all as fast as the disk takes them.
 */
function burst(files, lines, tag) {
  const chunks = files.map((_, k) => {
    const out = [];
    for (let start = 0; start < lines; start += 1000) {
      let chunk = '';
      for (let n = start; n < Math.min(lines, start + 1000); n++) chunk += indexLine(`${tag}${k}`, n);
      out.push(chunk);
    }
    return out;
  });
  return {
    write() {
      const appenders = files.map((f) => openAppender(f));
      for (let i = 0; i < (chunks[0]?.length ?? 0); i++) {
        for (const [k, a] of appenders.entries()) a.write(chunks[k][i]);
      }
      for (const a of appenders) a.close();
    },
  };
}

/**
 * A viewer through the balancer that, when its socket closes, reconnects at once with
 * `?since=&epoch=`. Records every seq it got and when.
 */
function failoverViewer(url) {
  const seqs = [];
  let epoch = null;
  let upstream = '';
  let onEvent = () => {};
  const open = (since) =>
    new Promise((resolve, reject) => {
      const q = since === null ? '' : `?since=${since}&epoch=${encodeURIComponent(epoch)}`;
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws${q}`, { perMessageDeflate: false });
      ws.once('upgrade', (res) => {
        upstream = String(res.headers['x-cis490-upstream'] ?? '');
      });
      // A resume that the replica can replay starts with the missed events, no hello.
      if (since !== null) ws.once('open', () => resolve(ws));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'hello') {
          epoch = m.epoch;
          if (m.reset) seqs.push({ reset: true, seq: m.seq, at: performance.now() });
          resolve(ws);
          return;
        }
        if (typeof m.seq === 'number' && m.type !== 'heartbeat') {
          seqs.push({ seq: m.seq, at: performance.now() });
          onEvent();
        }
      });
      ws.once('error', reject);
    });
  return {
    seqs,
    get upstream() {
      return upstream;
    },
    open,
    lastSeq: () => seqs.at(-1)?.seq ?? null,
    /** Resolves when `pred()` holds after an event; a bench must not hang: 30 s at most. */
    waitFor: (pred) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('viewer: no such event within 30 s')), 30_000);
        onEvent = () => {
          if (!pred()) return;
          clearTimeout(timer);
          resolve();
        };
        onEvent();
      }),
  };
}

export async function runScaleout({ latency, throughput, failoverSeconds, idleSeconds, log }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-bench-scaleout-'));
  const procs = [];
  let balancer = null;
  try {
    // Redis, three agents, two replicas, the balancer; the single box beside them.
    const redisPort = await freePort();
    fs.mkdirSync(path.join(tmp, 'redis'));
    const redis = await spawnUntil(
      'redis-server',
      [
        '--port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        path.join(tmp, 'redis'),
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
      ],
      /Ready to accept connections/,
      'redis-server',
    );
    procs.push(redis);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const roots = [1, 2, 3].map((i) => path.join(tmp, `rack-${i}`));
    for (const r of roots) emptyRoot(r);
    const agents = [];
    for (const [i, root] of roots.entries()) {
      agents.push(
        await spawnUntil(
          process.execPath,
          [
            ...nodeArgs,
            cli,
            'agent',
            '--data-root',
            root,
            '--redis',
            redisUrl,
            '--receiver',
            `rack-${i + 1}`,
            '--state-dir',
            path.join(tmp, `rack-${i + 1}-agent-state`),
            '--listen',
            '127.0.0.1:0',
            '--poll-interval',
            '0.05',
            '--log-level',
            'warn',
          ],
          /agent \S+ serving/,
          `agent rack-${i + 1}`,
        ),
      );
      procs.push(agents.at(-1));
    }
    const replicas = [];
    for (const i of [1, 2]) {
      const r = await spawnUntil(
        process.execPath,
        [
          ...nodeArgs,
          cli,
          'serve',
          '--redis',
          redisUrl,
          '--port',
          '0',
          '--state-dir',
          path.join(tmp, `replica-${i}`),
          '--log-level',
          'warn',
        ],
        /serving (http:\/\/\S+)/,
        `replica-${i}`,
      );
      r.url = r.match[1];
      procs.push(r);
      replicas.push(r);
    }
    const single = path.join(tmp, 'single');
    emptyRoot(single);
    const box = await spawnUntil(
      process.execPath,
      [
        ...nodeArgs,
        cli,
        'serve',
        '--data-root',
        single,
        '--state-dir',
        path.join(tmp, 'single-state'),
        '--port',
        '0',
        '--poll-interval',
        '0.05',
        '--log-level',
        'warn',
      ],
      /serving (http:\/\/\S+)/,
      'single box',
    );
    box.url = box.match[1];
    procs.push(box);
    const { startBalancer } = await import(path.join(repoRoot, 'dist', 'scaleout', 'balancer.js'));
    balancer = await startBalancer({ upstreams: replicas.map((r) => r.url) });
    for (const r of [...replicas, box]) {
      await pollUntil(async () => (await get(`${r.url}/livez`)).status === 200, {
        what: 'livez',
        timeoutMs: 60_000,
      });
    }
    await pollUntil(async () => (await get(`${box.url}/readyz`)).status === 200, {
      what: 'single box ready',
      timeoutMs: 60_000,
    });

    // 1. append → browser latency, through Redis and the balancer vs the single box.
    log('  scale-out: latency');
    const lat = async (url, index, tag) => {
      const run = await runScript(
        loadScript,
        [JSON.stringify({ url, index, clients: 1, rate: latency.rate, lines: latency.lines, tag })],
        {
          timeoutMs: (latency.lines / latency.rate + 120) * 1000,
        },
      );
      if (run.code !== 0 || !run.json) throw new Error(`load generator failed (${run.code}): ${run.text}`);
      return run.json;
    };
    const latCluster = await lat(balancer.url, path.join(roots[0], 'index.jsonl'), 'slat');
    const latBox = await lat(box.url, path.join(single, 'index.jsonl'), 'blat');

    // 2. throughput: three writers into three agents into two replicas vs one writer's worth ×3 into one box.
    log('  scale-out: throughput');
    const base = await Promise.all(replicas.map((r) => totalOf(r.url)));
    // The stream's seq tells the agents' part (files → Redis) from the replicas' (Redis → state).
    const redisClient = createClient({ url: redisUrl });
    await redisClient.connect();
    const streamSeq = async () => Number((await redisClient.hGet('{cis490}:meta', 'seq')) ?? 0);
    const seq0 = await streamSeq();
    // CPU seconds each process spends on the burst: a figure the machine's load moves far less
    // than the wall time (what an idle 2-core machine could do is about 2 / the sum per line).
    const cpuOf = () => ({
      agents: agents.map((a) => procCpuSeconds(a.pid)),
      replicas: replicas.map((r) => procCpuSeconds(r.pid)),
      redis: procCpuSeconds(redis.pid),
    });
    const cpu0 = cpuOf();
    const clusterLines = burst(
      roots.map((r) => path.join(r, 'index.jsonl')),
      throughput.lines,
      'sthr',
    );
    const t0 = performance.now();
    clusterLines.write();
    const writeSeconds = (performance.now() - t0) / 1000;
    const want = base.map((b) => b + 3 * throughput.lines);
    const doneAt = [];
    let streamAt = Number.NaN;
    const streamed = pollUntil(
      async () => {
        if ((await streamSeq()) < seq0 + 3 * throughput.lines) return false;
        streamAt = performance.now();
        return true;
      },
      { intervalMs: 50, timeoutMs: throughput.timeoutS * 1000, what: 'the stream' },
    );
    await Promise.all(
      replicas.map((r, i) =>
        pollUntil(
          async () => {
            const t = await totalOf(r.url);
            if (t > want[i]) throw new Error(`replica-${i + 1} counts ${t - want[i]} episodes twice`);
            if (t !== want[i]) return false;
            doneAt[i] = performance.now();
            return true;
          },
          { intervalMs: 100, timeoutMs: throughput.timeoutS * 1000, what: `replica-${i + 1} totals` },
        ),
      ),
    );
    await streamed;
    const cpu1 = cpuOf();
    await redisClient.quit();
    const clusterSeconds = (Math.max(...doneAt) - t0) / 1000;
    const streamSeconds = (streamAt - t0) / 1000;
    const boxBase = await totalOf(box.url);
    const boxLines = burst([path.join(single, 'index.jsonl')], 3 * throughput.lines, 'bthr');
    const boxCpu0 = procCpuSeconds(box.pid);
    const b0 = performance.now();
    boxLines.write();
    await pollUntil(async () => (await totalOf(box.url)) === boxBase + 3 * throughput.lines, {
      intervalMs: 100,
      timeoutMs: throughput.timeoutS * 1000,
      what: 'single box totals',
    });
    const boxSeconds = (performance.now() - b0) / 1000;
    const boxCpuSeconds = procCpuSeconds(box.pid) - boxCpu0;

    // 4. idle RSS (after the loads, the state and catalogs holding them).
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const rss = replicas.map((r) => procMemory(r.pid).rss);
    const boxRss = procMemory(box.pid).rss;

    // 3. failover: a viewer on one replica, the other keeps running; SIGKILL the viewer's.
    log('  scale-out: failover');
    const viewer = failoverViewer(balancer.url);
    await viewer.open(null);
    const victim = replicas.find((r) => viewer.upstream.endsWith(`:${new URL(r.url).port}`));
    if (!victim) throw new Error(`the viewer's replica (${viewer.upstream}) is not one of ours`);
    const appender = openAppender(path.join(roots[1], 'index.jsonl'));
    let n = 0;
    const writer = setInterval(() => appender.write(indexLine('sfo', n++)), 10);
    try {
      await viewer.waitFor(() => viewer.seqs.length >= 20);
      const lastBefore = viewer.lastSeq();
      const killedAt = performance.now();
      victim.child.kill('SIGKILL');
      await victim.exited;
      // The balancer closes the viewer's socket with the replica's; reconnect at once.
      const reopened = await viewer.open(viewer.lastSeq());
      await viewer.waitFor(() => viewer.seqs.some((s) => s.at > killedAt && s.seq > lastBefore));
      const first = viewer.seqs.find((s) => s.at > killedAt && s.seq > lastBefore);
      // Let a second of events run on, then check the seqs: dense, none twice.
      const until = performance.now() + Math.max(1, failoverSeconds) * 1000;
      await viewer.waitFor(() => performance.now() > until);
      reopened.terminate();
      const plain = viewer.seqs.filter((s) => !s.reset).map((s) => s.seq);
      let gaps = 0;
      let dups = 0;
      for (let i = 1; i < plain.length; i++) {
        if (plain[i] === plain[i - 1]) dups++;
        else if (plain[i] !== plain[i - 1] + 1) gaps++;
      }
      return {
        latency: { cluster: latCluster, box: latBox },
        throughput: {
          lines: 3 * throughput.lines,
          writeSeconds,
          clusterSeconds,
          streamSeconds,
          boxSeconds,
          clusterRate: (3 * throughput.lines) / clusterSeconds,
          cpuSeconds: {
            agents: cpu1.agents.map((c, i) => c - (cpu0.agents[i] ?? 0)),
            replicas: cpu1.replicas.map((c, i) => c - (cpu0.replicas[i] ?? 0)),
            redis: cpu1.redis - cpu0.redis,
            box: boxCpuSeconds,
          },
          boxRate: (3 * throughput.lines) / boxSeconds,
        },
        failover: {
          seconds: (first.at - killedAt) / 1000,
          resets: viewer.seqs.filter((s) => s.reset).length,
          gaps,
          dups,
          events: plain.length,
        },
        rss: { replicas: rss, box: boxRss },
      };
    } finally {
      clearInterval(writer);
      appender.close();
    }
  } finally {
    await balancer?.close();
    for (const p of procs.filter((p) => p !== procs[0]).reverse()) await stop(p);
    await stop(procs[0]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
