/**
 * Load generator, run in its own process (never inside the server): opens `clients` WebSocket
 * clients on loopback, waits for every hello, then appends `lines` index lines at `rate` lines/s
 * and times each line from its write to its arrival at every client.
 *
 *   node bench/load/ws-load.mjs '{"url":"http://127.0.0.1:PORT","index":"/path/index.jsonl",
 *                                 "clients":1,"rate":100,"lines":1000,"tag":"lat"}'
 *
 * Prints one JSON line: latency percentiles over all deliveries, counts, achieved rate.
 */
import WebSocket from 'ws';
import { indexLine, openAppender } from '../lib/append.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
const { url, index, clients: clientCount, rate, lines, tag } = opts;
// Clients that time every line; the others only receive (the socket and frame work stays, the
// per-message decoding is skipped), so with many clients this process does not become the
// bottleneck it measures. Spread evenly over the connection order.
const measured = Math.min(clientCount, opts.measured ?? clientCount);
const measureEvery = clientCount / measured;
const graceMs = opts.graceMs ?? 5000;
const connectConcurrency = 50;
// Latency histogram in 0.1 ms buckets up to 60 s: constant memory whatever the client count.
const BUCKET_MS = 0.1;
const hist = new Uint32Array(600_000);
let deliveries = 0;
let maxMs = 0;
const sentAt = new Float64Array(lines).fill(Number.NaN);
const idPattern = new RegExp(`"bench-${tag}-(\\d+)"`, 'g');

function record(latencyMs) {
  deliveries++;
  if (latencyMs > maxMs) maxMs = latencyMs;
  hist[Math.min(hist.length - 1, Math.floor(latencyMs / BUCKET_MS))]++;
}

function percentileMs(p) {
  const target = Math.ceil((p / 100) * deliveries);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= target && seen > 0) return Math.min((i + 1) * BUCKET_MS, maxMs);
  }
  return Number.NaN;
}

function connect(index) {
  const measures = index % measureEvery < 1;
  return new Promise((resolve, reject) => {
    // A client that only receives takes its frames as they come: neither validated as UTF-8 nor
    // decoded (the server's work per client is the same either way; this process's is not).
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, {
      perMessageDeflate: false,
      skipUTF8Validation: !measures,
    });
    // First sighting per line only: later snapshots repeat recent ids.
    const seen = new Uint8Array(lines);
    let hello = false;
    ws.on('message', (data) => {
      const now = performance.now();
      if (!hello) {
        hello = true;
        resolve(ws);
        return; // The hello's state predates every line we write.
      }
      if (!measures) return;
      const text = data.toString();
      idPattern.lastIndex = 0;
      for (let m = idPattern.exec(text); m; m = idPattern.exec(text)) {
        const n = Number(m[1]);
        if (n < lines && !seen[n] && !Number.isNaN(sentAt[n])) {
          seen[n] = 1;
          record(now - sentAt[n]);
        }
      }
    });
    ws.on('error', (err) => {
      if (!hello) reject(err);
    });
    ws.on('close', (code) => {
      if (!hello) reject(new Error(`closed before hello (${code})`));
    });
  });
}

const sockets = [];
const connectStart = performance.now();
for (let i = 0; i < clientCount; i += connectConcurrency) {
  const batch = Math.min(connectConcurrency, clientCount - i);
  sockets.push(...(await Promise.all(Array.from({ length: batch }, (_, j) => connect(i + j)))));
}
const connectSeconds = (performance.now() - connectStart) / 1000;
let closedEarly = 0;
for (const ws of sockets) ws.on('close', () => closedEarly++);

const appender = openAppender(index);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let written = 0;
await new Promise((resolve) => {
  const tick = () => {
    // Write every line that is due by now (catches up after a late timer), one write per line.
    const due = Math.min(lines, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (written < due) {
      const line = indexLine(tag, written);
      sentAt[written] = performance.now();
      appender.write(line);
      written++;
    }
    if (written >= lines) resolve();
    else setTimeout(tick, Math.max(1, Math.floor(1000 / rate / 2)));
  };
  tick();
});
const writeSeconds = (performance.now() - t0) / 1000;
appender.close();
const expected = lines * measured;
const graceEnd = performance.now() + graceMs;
while (deliveries < expected && performance.now() < graceEnd) await new Promise((r) => setTimeout(r, 50));
const cpu = process.cpuUsage(cpu0);
const busySeconds = (performance.now() - t0) / 1000;
for (const ws of sockets) ws.terminate();

process.stdout.write(
  `${JSON.stringify({
    clients: clientCount,
    measured_clients: measured,
    lines,
    rate_target: rate,
    rate_achieved: lines / writeSeconds,
    write_seconds: writeSeconds,
    connect_seconds: connectSeconds,
    expected,
    deliveries,
    lost: expected - deliveries,
    closed_early: closedEarly,
    p50_ms: percentileMs(50),
    p99_ms: percentileMs(99),
    max_ms: maxMs,
    // Near 1.0 means this process (not the server) was the bottleneck.
    load_cpu_share: (cpu.user + cpu.system) / 1e6 / busySeconds,
  })}\n`,
);
process.exit(0);
