/**
 * Fault: SIGKILL of the real server between what the live state has applied and what the catalog
 * has committed, then a restart. The catalog writer is held (another process takes the catalog's
 * write lock, as a backup tool would) while a burst of lines reaches the live state and the
 * WebSocket; the server is killed with the burst applied live but not committed. After a restart
 * the totals, the catalog rows and the repeats count each line once: no duplicate, no gap. The
 * same after a kill that follows the commit (nothing is read again).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { DB_FILE } from '../../src/catalog/db.js';
import { UNSYNCED_LOAD } from '../../src/catalog/schema.js';
import { generateDataRoot } from '../../src/generate/generate.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { type ChildServer, startChildServer } from './child-server.js';
import { IdRecorder, indexLine, metric } from './support.js';

const committed = (url: string) => metric(url, 'catalog_committed_lines_total', 'source="index"');

/**
 * Waits until the server's catalog has committed `lines` index lines. On a timeout the failure
 * carries the catalog's metrics and the server's log (warn and up): a CI run once saw a restarted
 * server commit nothing in 30 s, with no trace of why.
 */
async function awaitCommitted(server: ChildServer, lines: number): Promise<void> {
  try {
    await vi.waitFor(async () => expect(await committed(server.url)).toBe(lines), { timeout: 30_000 });
  } catch (err) {
    const metrics = (await (await fetch(`${server.url}/metrics`)).text())
      .split('\n')
      .filter(
        (l) =>
          /^cis490_dashboard_(catalog_|input_|episodes |bootstrap_seconds)/.test(l) &&
          !l.includes('_bucket{'),
      )
      .join('\n');
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}\ncatalog metrics:\n${metrics}\nserver log (warn and up):\n${server.stderr().slice(-3000)}`,
    );
  }
}
const state = async (url: string) => (await getJson<DashboardState>({ url }, '/api/state')).body;
const catalogTotal = async (url: string, query = '') =>
  (await getJson<EpisodesPage>({ url }, `/api/episodes?limit=1${query}`)).body.total;

/** Whether the catalog's cold bulk load has ended: its mark dropped and its rows synced (persist-worker.ts). */
function coldLoadOver(stateDir: string): boolean {
  const db = new Database(path.join(stateDir, DB_FILE), { readonly: true });
  try {
    const marked = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bulk_load'")
      .get();
    const unsynced = db.prepare('SELECT 1 FROM sync_state WHERE name = ?').get(UNSYNCED_LOAD);
    return marked === undefined && unsynced === undefined;
  } finally {
    db.close();
  }
}

async function ready(server: ChildServer): Promise<void> {
  await vi.waitFor(async () => expect((await state(server.url)).ready).toBe(true), {
    timeout: 30_000,
    interval: 50,
  });
}

/** Appends `ids` (new) and `repeats` (ids already indexed) as one write; returns the lines. */
function append(index: string, ids: string[], repeats: string[]): number {
  fs.appendFileSync(index, [...ids, ...repeats].map((id) => indexLine(id, 'host-02')).join(''));
  return ids.length + repeats.length;
}

describe('fault: SIGKILL between the live state and the catalog commit', () => {
  it('restarts with every line counted once, in the totals and in the catalog', async () => {
    const tmp = tempDir('cis490-fault-between-');
    const dataRoot = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    const summary = await generateDataRoot({
      out: dataRoot,
      hosts: 2,
      episodes: 4,
      indexLines: 2_000,
      alerts: 5,
      telemetryKb: 4,
      seed: 4_242,
    });
    const index = path.join(dataRoot, 'index.jsonl');
    const base = summary.expected.total_episodes;
    const firstLines = fs.readFileSync(index, 'utf8').split('\n').slice(0, 5);
    const earlier = firstLines.map((l) => (JSON.parse(l) as { episode_id: string }).episode_id);

    // Run 1: caught up, then the writer is held while a burst reaches the live state.
    const run1 = await startChildServer({ dataRoot, stateDir });
    await ready(run1);
    await awaitCommitted(run1, 2_000);
    // Caught up means the cold load is over too: its rows commit before its indexes are built and
    // its marks dropped, and a kill in between is a load cut short, which the next start loads
    // again from byte 0 (test/faults/cut-short-load.test.ts) — not this test's fault. CI once took
    // the lock in that gap.
    await vi.waitFor(() => expect(coldLoadOver(stateDir)).toBe(true), { timeout: 30_000, interval: 50 });
    const client1 = IdRecorder.to(run1);
    await client1.opened();
    const lock = new Database(path.join(stateDir, DB_FILE));
    lock.exec('BEGIN IMMEDIATE');
    const burstA = Array.from({ length: 50 }, (_, i) => `kb-a-${i}`);
    const linesA = append(index, burstA, earlier);
    await client1.until(() => burstA.every((id) => client1.seen.has(id)), 'burst A live');
    expect((await state(run1.url)).total_episodes).toBe(base + burstA.length);
    // The live state has the burst; the catalog has not committed it.
    expect(await committed(run1.url)).toBe(2_000);
    await run1.kill();
    client1.close();
    lock.exec('ROLLBACK');
    lock.close();

    // Run 2: resumes from the catalog's position; the burst is read again, once.
    const run2 = await startChildServer({ dataRoot, stateDir });
    await ready(run2);
    expect((await state(run2.url)).total_episodes).toBe(base + burstA.length);
    await awaitCommitted(run2, linesA);
    expect(await catalogTotal(run2.url)).toBe(base + burstA.length);
    expect(await catalogTotal(run2.url, '&q=kb-a-')).toBe(burstA.length);
    expect(await metric(run2.url, 'input_duplicate_ids_total')).toBe(earlier.length);

    // Then a kill right after the commit: nothing is read again.
    const client2 = IdRecorder.to(run2);
    await client2.opened();
    const burstB = Array.from({ length: 30 }, (_, i) => `kb-b-${i}`);
    const linesB = append(index, burstB, []);
    await client2.until(() => burstB.every((id) => client2.seen.has(id)), 'burst B live');
    await awaitCommitted(run2, linesA + linesB);
    await run2.kill();
    client2.close();

    const run3 = await startChildServer({ dataRoot, stateDir });
    await ready(run3);
    const total = base + burstA.length + burstB.length;
    expect((await state(run3.url)).total_episodes).toBe(total);
    expect(await committed(run3.url)).toBe(0);
    // Waited for, not read once: right after a start the explorer lists the tarballs on disk as
    // unindexed files until the catalog's disk sync has matched them to their index rows (the
    // writer runs beside the first pass now, at a lower priority). It must settle at the total:
    // no row twice, none missing.
    await vi.waitFor(async () => expect(await catalogTotal(run3.url)).toBe(total), { timeout: 30_000 });
    expect(await catalogTotal(run3.url, '&q=kb-')).toBe(burstA.length + burstB.length);
    // The websocket of the killed runs saw each live id once.
    expect([...client1.seen.values(), ...client2.seen.values()].every((n) => n === 1)).toBe(true);
    await run3.kill();
  }, 120_000);
});
