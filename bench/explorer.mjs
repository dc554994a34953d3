#!/usr/bin/env node
/**
 * Explorer benchmark (issue 4): p50/p99 of `GET /api/episodes` per filter at 1,000,000 episodes,
 * and the server's RSS. The server runs as a child process (the compiled CLI); this process is
 * the client, on loopback, one request at a time (bounded: ROUNDS per filter).
 *
 *   npm run build:server
 *   node bench/explorer.mjs [--lines 1000000] [--rounds 200] [--hosts 12] [--root DIR] [--keep]
 *
 * `--root DIR` reuses a data root generated before (`generate --index-lines`), and its state dir
 * `DIR.state` when present (a warm catalog); without it a root is generated in a temp folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(repo, 'bin', 'cis490-dashboard.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};
const LINES = Number(opt('lines', '1000000'));
const ROUNDS = Number(opt('rounds', '200'));
/** Hosts of a generated root (a lab's count; past 256 a status filter plans differently). */
const HOSTS = opt('hosts', '12');
const keep = args.includes('--keep');

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-explorer-bench-'));
// An empty web folder: the API alone.
fs.mkdirSync(path.join(base, 'no-web'));
const root = opt('root', path.join(base, 'data'));
const stateDir = `${root}.state`;

function log(...a) {
  process.stderr.write(`${a.join(' ')}\n`);
}

if (!fs.existsSync(path.join(root, 'index.jsonl'))) {
  log(`generating ${LINES} index lines into ${root} ...`);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      cli,
      'generate',
      '--out',
      root,
      '--hosts',
      HOSTS,
      '--episodes',
      '300',
      '--index-lines',
      String(LINES),
      '--alerts',
      '5000',
      '--telemetry-kb',
      '8',
      '--seed',
      '4',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0) throw new Error('generate failed');
  log(`generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const url = `http://127.0.0.1:${port}`;
const t0 = performance.now();
const server = spawn(
  process.execPath,
  [
    cli,
    'serve',
    '--data-root',
    root,
    '--state-dir',
    stateDir,
    '--port',
    String(port),
    '--log-level',
    'warn',
    '--web-dir',
    path.join(base, 'no-web'),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);

async function get(pathname) {
  const res = await fetch(url + pathname);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${pathname}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

function rss() {
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
}

// Wait for the catalog: every episode committed, every row classified, every tarball hashed.
// The episodes to wait for: the live total once ready (a root's lines may repeat an id, as a
// receiver's re-logged upload; a generated root has one episode per line).
let catalogAt = null;
let episodes = null;
for (;;) {
  await new Promise((r) => setTimeout(r, 500));
  let facets;
  try {
    episodes ??= (await get('/readyz')).ready ? (await get('/api/state')).total_episodes : null;
    if (episodes === null) continue;
    facets = await get('/api/episodes/facets');
  } catch {
    continue;
  }
  const total = Object.values(facets.status).reduce((a, b) => a + b, 0);
  if (total >= episodes && catalogAt === null) {
    catalogAt = (performance.now() - t0) / 1000;
    log(`catalog holds ${total} rows after ${catalogAt.toFixed(1)} s`);
  }
  if (total >= episodes && (facets.status.unverified ?? 0) === 0) break;
}
const settledAt = (performance.now() - t0) / 1000;
log(`verifier settled after ${settledAt.toFixed(1)} s; RSS ${JSON.stringify(rss())}`);

const first = await get('/api/episodes?limit=100');
// An episode with a sha256 (a receiver may log null), and host names as query values (any
// characters: bench/foreign-root.py's include non-ASCII ones).
const sample = first.items.slice(5).find((e) => e.sha256) ?? first.items[5];
const hosts = Object.keys((await get('/api/episodes/facets')).host)
  .sort()
  .map(encodeURIComponent);
const newestMs = Date.parse(first.items[0].received_at);
const dayAgo = new Date(newestMs - 86_400_000).toISOString();
const weekAgoS = Math.floor((newestMs - 7 * 86_400_000) / 1000);
const deepCursor = await (async () => {
  let cursor = null;
  for (let i = 0; i < 20; i++)
    cursor = (await get(`/api/episodes?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).next_cursor;
  return cursor;
})();

const filters = [
  ['none', ''],
  ['host (1)', `host=${hosts[0]}`],
  ['host (3)', `host=${hosts[1]}&host=${hosts[2]}&host=${hosts[3]}`],
  ['status=ok', 'status=ok'],
  ['status=missing', 'status=missing'],
  ['status=corrupt (empty)', 'status=corrupt'],
  ['q=sha prefix (8)', `q=${sample.sha256.slice(0, 8)}`],
  ['q=sha prefix (2)', `q=${sample.sha256.slice(0, 2)}`],
  ['q=episode id', `q=${sample.episode_id}`],
  ['from (last day)', `from=${dayAgo}`],
  ['from+to (week, epoch s)', `from=${weekAgoS}&to=${Math.floor(newestMs / 1000) - 86_400}`],
  ['min_size', `min_size=${sample.size_bytes}`],
  ['max_size (rare)', 'max_size=1000'],
  ['host+status+from', `host=${hosts[0]}&status=missing&from=${dayAgo}`],
  // A status without a host is each host's range of the status (no index on the status alone).
  ['status+from', `status=missing&from=${dayAgo}`],
  ['status+min_size', `status=missing&min_size=${sample.size_bytes}`],
  // A rare status bounded on both sides in time: with many hosts SQLite once took the time
  // index for it and checked the hosts on every row of the range.
  ['status+to (rare)', `status=corrupt&to=${Math.floor(newestMs / 1000)}`],
  ['deep page (cursor 10k)', `cursor=${deepCursor}`],
  ['limit=500', 'limit=500'],
  // The other orders (issue 12): each an index range, never a scan of every row.
  ...['size', 'host', 'status'].flatMap((key) =>
    ['desc', 'asc'].map((order) => [`sort=${key} ${order}`, `sort=${key}&order=${order}`]),
  ),
  // A key's rows checked against a `q` matching many rows (1 in 16), and read through the q
  // indexes when it matches few.
  ['sort=host + q=sha prefix (1)', `sort=host&q=${sample.sha256.slice(0, 1)}`],
  ['sort=host + q=sha prefix (2)', `sort=host&q=${sample.sha256.slice(0, 2)}`],
  ['sort=status + q=sha prefix (1)', `sort=status&q=${sample.sha256.slice(0, 1)}`],
];
// Every filter combined with one host too (issue 12: "alone and combined with host").
for (const [label, query] of [...filters]) {
  if (query === '' || query.startsWith('host=')) continue;
  filters.push([`host + ${label}`, `host=${hosts[0]}&${query}`]);
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The first request of a filter (cold: nothing memoised), then ROUNDS more. */
async function measure(pathname) {
  const c = performance.now();
  await get(pathname);
  const cold = performance.now() - c;
  const times = [];
  let body;
  for (let i = 0; i < ROUNDS; i++) {
    const a = performance.now();
    body = await get(pathname);
    times.push(performance.now() - a);
  }
  times.sort((x, y) => x - y);
  return { cold, p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1], body };
}

const rows = [];
for (const [label, query] of filters) {
  const m = await measure(`/api/episodes?${query}`);
  rows.push({
    endpoint: '/api/episodes',
    filter: label,
    cold_ms: +m.cold.toFixed(2),
    p50_ms: +m.p50.toFixed(2),
    p99_ms: +m.p99.toFixed(2),
    max_ms: +m.max.toFixed(2),
    total: m.body.total,
    items: m.body.items.length,
  });
}
for (const [label, query] of [
  ['none', ''],
  ['host (1)', `host=${hosts[0]}`],
  ['from (last day)', `from=${dayAgo}`],
  // Counted anew after each commit (memoized until then): the cold column is the cost.
  ['from+to (week, epoch s)', `from=${weekAgoS}&to=${Math.floor(newestMs / 1000) - 86_400}`],
  ['status+from', `status=missing&from=${dayAgo}`],
  // A size filter matching about half the rows: counted per host and status range, the size
  // read in the index (before, each row was looked up for its status: seconds, cold).
  ['min_size', `min_size=${sample.size_bytes}`],
  ['status+min_size', `status=missing&min_size=${sample.size_bytes}`],
  ['host+max_size', `host=${hosts[0]}&max_size=${sample.size_bytes}`],
]) {
  const m = await measure(`/api/episodes/facets?${query}`);
  rows.push({
    endpoint: '/api/episodes/facets',
    filter: label,
    cold_ms: +m.cold.toFixed(2),
    p50_ms: +m.p50.toFixed(2),
    p99_ms: +m.p99.toFixed(2),
    max_ms: +m.max.toFixed(2),
  });
}
const detail = await measure(`/api/episodes/${sample.episode_id}`);
rows.push({
  endpoint: '/api/episodes/:id',
  filter: 'on disk',
  cold_ms: +detail.cold.toFixed(2),
  p50_ms: +detail.p50.toFixed(2),
  p99_ms: +detail.p99.toFixed(2),
  max_ms: +detail.max.toFixed(2),
});

console.table(rows);
const mem = rss();
console.log(
  JSON.stringify({
    lines: LINES,
    rounds: ROUNDS,
    catalog_ready_s: catalogAt,
    verifier_settled_s: settledAt,
    server_rss_mb: +mem.rssMB.toFixed(1),
    server_peak_rss_mb: +mem.peakMB.toFixed(1),
    results: rows,
  }),
);
stop();
await new Promise((r) => server.once('exit', r));
if (!keep && !args.includes('--root')) fs.rmSync(base, { recursive: true, force: true });
else log(`kept ${root} and ${stateDir}`);
