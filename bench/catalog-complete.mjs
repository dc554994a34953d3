/**
 * Catalog complete: a server on a cached 1M-line root with a fresh state dir, /metrics polled
 * every 250 ms until `catalog_committed_lines_total{source="index"}` reaches the index's line
 * count, then the catalog file (read-only) until the explorer's indexes on `episodes` are all
 * there again (a cold load drops them and builds them after its rows: until then the explorer
 * answers, but by scans). Prints both wall times from process start, the process CPU and each
 * thread's CPU at the first (from /proc), the CPU at the second, and the first pass's
 * `bootstrap_seconds`. Alternates builds when given several.
 *
 *   node bench/catalog-complete.mjs python 2 [DIR ...]   (DIR: a built tree; default this one)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';

const [style = 'python', repsArg = '1', ...dirsArg] = process.argv.slice(2);
const here = path.resolve(new URL('..', import.meta.url).pathname);
const dirs = dirsArg.length > 0 ? dirsArg.map((d) => path.resolve(d)) : [here];
// STYLE names a cached generated root; a path (with a '/') is any other root (its lines counted).
const root = style.includes('/')
  ? path.resolve(style)
  : path.join(here, `.bench-data/root-h24-e2000-l1000000-t16-s490-${style}`);
const lines = style.includes('/') ? countLines(path.join(root, 'index.jsonl')) : 1_000_000;

function countLines(file) {
  const b = fs.readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}
/** The unique id key and seven secondary indexes (the base build and this one alike). */
const INDEXES = 8;

function indexCount(file) {
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db
      .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'episodes'")
      .pluck()
      .get();
  } catch {
    return 0; // not there yet, or locked for a moment
  } finally {
    db?.close();
  }
}

function threads(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const secs = (Number(f[11]) + Number(f[12])) / 100;
      out[`${name}${tid === String(pid) ? '(main)' : ''}`] = (out[name] ?? 0) + secs;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

for (let r = 0; r < Number(repsArg); r++) {
  for (const dir of r % 2 ? [...dirs].reverse() : dirs) {
    const { startServer, get, metric } = await import(path.join(dir, 'bench/lib/proc.mjs'));
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-catalog-'));
    const server = await startServer({ dataRoot: root, stateDir: path.join(state, 'state') });
    let at = null;
    let cpu = null;
    for (;;) {
      await new Promise((res) => setTimeout(res, 250));
      const m = (await get(`${server.url}/metrics`)).body;
      const committed = metric(m, 'catalog_committed_lines_total', 'source="index"');
      if (committed >= lines) {
        at = (performance.now() - server.t0) / 1000;
        cpu = threads(server.pid);
        break;
      }
    }
    let indexedAt = null;
    let indexedCpu = null;
    for (;;) {
      if (indexCount(path.join(state, 'state', 'catalog.sqlite')) >= INDEXES) {
        indexedAt = (performance.now() - server.t0) / 1000;
        indexedCpu = Object.values(threads(server.pid)).reduce((a, b) => a + b, 0);
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    const boot = (await get(`${server.url}/readyz`)).body?.bootstrap_seconds;
    await server.stop();
    fs.rmSync(state, { recursive: true, force: true });
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    const top = Object.entries(cpu)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
    console.log(
      `${path.basename(dir)} ${style}: rows ${at.toFixed(1)} s, indexed ${indexedAt.toFixed(1)} s (CPU ${indexedCpu.toFixed(2)} s), first pass ${boot} s, CPU at rows ${total.toFixed(2)} s (${top}), load ${os.loadavg()[0].toFixed(1)}`,
    );
  }
}
