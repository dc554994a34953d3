/**
 * Catalog complete (issue 12: every line queryable in the explorer ≤ 6 s after start): a fresh
 * server on a root with a fresh state dir; /metrics polled every 250 ms until
 * `catalog_committed_lines_total{source="index"}` reaches the index's line count ("rows"), then
 * the catalog file (read-only, every 50 ms) until every index the tree's own schema defines on `episodes` is
 * there ("indexed": a cold load drops them and builds them after its rows; until then the
 * explorer answers, but by scans). Times are from the process's spawn.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { get, metric, procStat, repoRoot, startServer } from '../lib/proc.mjs';

/** /metrics (the rows) is polled this often. */
const POLL_MS = 250;
/**
 * The catalog file (its indexes) this often: a read-only open and one small query, in this
 * process. At 250 ms, like /metrics, it found them up to 0.25 s after their commit.
 */
const INDEX_POLL_MS = 50;

/** CPU seconds per thread of a live process (thread name, the main one marked), from /proc. */
export function threadCpu(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = procStat(`${pid}/task/${tid}`);
      const name = `${stat.name}${tid === String(pid) ? '(main)' : ''}`;
      out[name] = (out[name] ?? 0) + stat.cpu;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * How many indexes `episodes` has once complete in the build at `tree`: its unique id key and its
 * schema's secondary indexes (each build is measured against its own definition).
 */
async function expectedIndexes(tree) {
  const schema = await import(path.join(tree, 'dist', 'catalog', 'schema.js'));
  return schema.EPISODE_INDEXES.length + 1;
}

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

const pause = (ms = POLL_MS) => new Promise((res) => setTimeout(res, ms));

/**
 * One cold start of the build at `tree` on `root` (whose index has `lines` lines), until its
 * catalog is complete. Resolves with seconds from spawn to rows committed and to indexed, the
 * process CPU at each, the CPU per thread at rows, and the first pass's `bootstrap_seconds`.
 */
export async function catalogCompleteOnce({ root, lines, tree = repoRoot }) {
  const want = await expectedIndexes(tree);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-catalog-'));
  const server = await startServer({
    dataRoot: root,
    stateDir: path.join(state, 'state'),
    bin: path.join(tree, 'bin', 'cis490-dashboard.js'),
  });
  try {
    let rows = null;
    while (!rows) {
      await pause();
      const m = (await get(`${server.url}/metrics`)).body;
      if (metric(m, 'catalog_committed_lines_total', 'source="index"') >= lines) {
        rows = { seconds: (performance.now() - server.t0) / 1000, threads: threadCpu(server.pid) };
      }
    }
    let indexed = null;
    while (!indexed) {
      if (indexCount(path.join(state, 'state', 'catalog.sqlite')) >= want) {
        indexed = { seconds: (performance.now() - server.t0) / 1000, cpu: sum(threadCpu(server.pid)) };
      } else await pause(INDEX_POLL_MS);
    }
    // The server's `catalog caught up` line (a build that writes one): after the index builds'
    // commit, a cold load's sync to disk and whatever was queued behind them.
    const caughtUp = await Promise.race([
      server.logLine((r) => r.msg === 'catalog caught up'),
      new Promise((res) => setTimeout(() => res(null), 5000)),
    ]);
    const boot = (await get(`${server.url}/readyz`)).body?.bootstrap_seconds ?? null;
    return {
      rowsSeconds: rows.seconds,
      rowsCpu: sum(rows.threads),
      threads: rows.threads,
      indexedSeconds: indexed.seconds,
      caughtUpSeconds: caughtUp ? (caughtUp.at - server.t0) / 1000 : null,
      indexedCpu: indexed.cpu,
      bootstrapSeconds: boot,
      load: os.loadavg()[0],
    };
  } finally {
    await server.stop();
    fs.rmSync(state, { recursive: true, force: true });
  }
}

/** The heaviest threads of a `threads` reading, as "name seconds, …". */
export function topThreads(threads, n = 4) {
  return Object.entries(threads)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
}
