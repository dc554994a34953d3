/**
 * Memory soak: weeks of a lab's traffic in minutes, to see whether a server's memory levels off
 * ("for weeks without a restart") or keeps climbing. One server on a small generated root, fed
 * for `--minutes` with everything a lab's day brings, faster:
 *
 * - index lines at `--rate` a second (a new episode id each, python style), from hosts that come
 *   and go: a new host every `--new-host-s` seconds, each writing for a few minutes;
 * - alerts at a tenth of that rate, most of them repeats of a few dedup keys, some new keys;
 * - `index.jsonl` and `alerts.jsonl` rotated by rename every `--rotate-lines` index lines (the
 *   previous `.1` overwritten, as logrotate's `rotate 1` does);
 * - a WebSocket client opened every second and dropped after 5 s (every third without a close
 *   handshake), and one that stays connected throughout;
 * - an explorer query every 2 s (a host, a time range, a size filter, `q`, in turn), and an
 *   acknowledgement and a silence posted and taken back every 10 s.
 *
 * Every 5 s: the process's RSS (/proc) and the main thread's V8 heap (`/metrics`). The report
 * gives each minute's lowest reading (the floor a collection leaves, not its sawtooth) and the
 * slope of those floors over the second half of the run, in MiB an hour.
 *
 *   node bench/soak.mjs [--minutes 20] [--rate 200] [--new-host-s 30] [--rotate-lines 50000]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { copyRoot, ensureRoot, workDir } from './lib/data.mjs';
import { get, metric, procMemory, startServer } from './lib/proc.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    'new-host-s': { type: 'string', default: '30' },
    'rotate-lines': { type: 'string', default: '50000' },
  },
});
const minutes = Number(opt.minutes);
const rate = Number(opt.rate);
const newHostS = Number(opt['new-host-s']);
const rotateLines = Number(opt['rotate-lines']);

const { dir: work, cleanup } = workDir('soak');
const root = copyRoot(ensureRoot({ hosts: 24, episodes: 200, indexLines: 20_000 }), work);
const token = crypto.randomBytes(16).toString('hex');
fs.writeFileSync(path.join(work, 'token'), token);
const server = await startServer({
  dataRoot: root,
  stateDir: path.join(work, 'state'),
  args: ['--phase-token', path.join(work, 'token')],
});
const wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
// Fed once the first pass is over (the root's 20,000 lines in the state).
for (let ready = false; !ready; await new Promise((res) => setTimeout(res, 200))) {
  ready = (await get(`${server.url}/readyz`).catch(() => null))?.status === 200;
}

const indexFile = path.join(root, 'index.jsonl');
const alertsFile = path.join(root, 'alerts.jsonl');
let indexFd = fs.openSync(indexFile, 'a');
let alertsFd = fs.openSync(alertsFile, 'a');
let lines = 0;
let alerts = 0;
let rotations = 0;
const t0 = Date.now();

/** Hosts writing now: the 24 of the root, plus those that came lately (each for 4 minutes). */
const comers = [];
function hostFor(n) {
  const now = Date.now();
  while (comers.length > 0 && now - comers[0].since > 240_000) comers.shift();
  if (comers.length > 0 && n % 3 === 0) return comers[n % comers.length].id;
  return `host-${String((n % 24) + 1).padStart(2, '0')}`;
}

function indexLine(n) {
  const id = `soak-${n}-${crypto.randomBytes(4).toString('hex')}`;
  return `${JSON.stringify({
    episode_id: id,
    host_id: hostFor(n),
    sha256: crypto.createHash('sha256').update(id).digest('hex'),
    size_bytes: 4000 + (n % 9000),
    received_at_wall: new Date().toISOString(),
  })
    .replace(/,"/g, ', "')
    .replace(/":/g, '": ')}\n`;
}

function alertLine(n) {
  const host = hostFor(n);
  // Mostly the same few symptoms again (a host's heartbeat, a stuck shipper), now and then a new key.
  const symptom = n % 10 === 0 ? `disk_full_${n}` : ['heartbeat_missed', 'shipper_stuck'][n % 2];
  return `${JSON.stringify({
    host,
    symptom,
    detail: `soak alert ${n}`,
    suggested_fix: 'Look at the host.',
    detected_at_wall: new Date().toISOString(),
    dedup_key: `${host}:${symptom}`,
  })}\n`;
}

function rotate() {
  fs.closeSync(indexFd);
  fs.closeSync(alertsFd);
  fs.renameSync(indexFile, `${indexFile}.1`);
  fs.renameSync(alertsFile, `${alertsFile}.1`);
  indexFd = fs.openSync(indexFile, 'a');
  alertsFd = fs.openSync(alertsFile, 'a');
  rotations++;
}

const writer = setInterval(() => {
  const batch = Math.max(1, Math.round(rate / 10));
  let text = '';
  for (let i = 0; i < batch; i++) text += indexLine(lines++);
  fs.writeSync(indexFd, text);
  if (lines % 10 < batch % 10 || batch >= 10) fs.writeSync(alertsFd, alertLine(alerts++));
  if (lines >= (rotations + 1) * rotateLines) rotate();
}, 100);

const hostTimer = setInterval(() => {
  comers.push({ id: `comer-${Math.round((Date.now() - t0) / 1000)}`, since: Date.now() });
}, newHostS * 1000);

// WebSocket clients: one that stays, one a second that goes after 5 s.
let wsOpened = 0;
let wsErrors = 0;
const stayer = new WebSocket(wsUrl);
stayer.on('error', () => wsErrors++);
let stayerMessages = 0;
stayer.on('message', () => stayerMessages++);
const clientTimer = setInterval(() => {
  const n = wsOpened++;
  const ws = new WebSocket(wsUrl);
  ws.on('error', () => wsErrors++);
  setTimeout(() => (n % 3 === 0 ? ws.terminate() : ws.close()), 5000);
}, 1000);

// Explorer queries and alert actions.
let queries = 0;
let queryErrors = 0;
const filters = [
  'host=host-03',
  'from=2026-01-01T00:00:00Z',
  'min_size=12000',
  'q=a1',
  'host=host-07&max_size=5000',
];
const queryTimer = setInterval(async () => {
  const r = await get(`${server.url}/api/episodes?${filters[queries++ % filters.length]}&limit=50`).catch(
    () => null,
  );
  if (r?.status !== 200) queryErrors++;
}, 2000);
let actions = 0;
let actionErrors = 0;
const actionTimer = setInterval(async () => {
  const key = `host-${String((actions % 24) + 1).padStart(2, '0')}:heartbeat_missed`;
  const kind = actions++ % 2 === 0 ? 'acknowledge' : 'silence';
  const body = { dedup_key: key, kind, by: 'soak', until: new Date(Date.now() + 3_600_000).toISOString() };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const post = await fetch(`${server.url}/api/alerts/actions`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (post.status !== 201) actionErrors++;
  const del = await fetch(`${server.url}/api/alerts/actions?dedup_key=${encodeURIComponent(key)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  if (del.status !== 200) actionErrors++;
}, 10_000);

// Memory, every 5 s.
const samples = [];
const sampler = setInterval(async () => {
  const m = await get(`${server.url}/metrics`).catch(() => null);
  const heap = m?.status === 200 ? metric(m.body, 'heap_used_bytes') : Number.NaN;
  samples.push({ s: (Date.now() - t0) / 1000, rss: procMemory(server.pid).rss, heap });
}, 5000);

await new Promise((res) => setTimeout(res, minutes * 60_000));
for (const t of [writer, hostTimer, clientTimer, queryTimer, actionTimer, sampler]) clearInterval(t);
await new Promise((res) => setTimeout(res, 6000)); // the last clients go
const state = await get(`${server.url}/api/state`).catch(() => null);
stayer.close();
await server.stop();
fs.closeSync(indexFd);
fs.closeSync(alertsFd);

const mib = (b) => b / 2 ** 20;
/** Each minute's lowest reading. */
const floors = [];
for (let m = 0; m < minutes; m++) {
  const inMinute = samples.filter((x) => x.s >= m * 60 && x.s < (m + 1) * 60);
  if (inMinute.length === 0) continue;
  floors.push({
    minute: m + 1,
    rss: Math.min(...inMinute.map((x) => x.rss)),
    heap: Math.min(...inMinute.map((x) => x.heap).filter(Number.isFinite)),
  });
}
/** Least-squares slope of `key` over the second half of the floors, in MiB an hour. */
function slope(key) {
  const pts = floors.slice(Math.floor(floors.length / 2));
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p.minute, 0) / n;
  const my = pts.reduce((a, p) => a + mib(p[key]), 0) / n;
  const num = pts.reduce((a, p) => a + (p.minute - mx) * (mib(p[key]) - my), 0);
  const den = pts.reduce((a, p) => a + (p.minute - mx) ** 2, 0);
  return (num / den) * 60;
}
console.log(
  `soak: ${minutes} min, ${lines} index lines (${rate}/s), ${alerts} alerts, ${rotations} rotations, ${comers.length} hosts arriving at the end, ${wsOpened} WebSocket clients (${wsErrors} errors; the long one got ${stayerMessages} messages), ${queries} explorer queries (${queryErrors} not 200), ${actions} actions (${actionErrors} not 201/200)`,
);
console.log(
  `server's total_episodes at the end: ${state?.body?.total_episodes ?? '?'} (the root had 20000 lines before)`,
);
console.log('minute  RSS floor MiB  heap floor MiB');
for (const f of floors)
  console.log(
    `${String(f.minute).padStart(6)}  ${mib(f.rss).toFixed(1).padStart(13)}  ${mib(f.heap).toFixed(1).padStart(14)}`,
  );
console.log(`second half: RSS ${slope('rss').toFixed(1)} MiB/h, heap ${slope('heap').toFixed(1)} MiB/h`);
cleanup();
