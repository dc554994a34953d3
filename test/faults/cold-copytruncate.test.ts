/**
 * Fault: copytruncate of index.jsonl and alerts.jsonl during a cold start, while the catalog
 * writer trails the first pass. The writer reads each first-pass range of either file again
 * through the pass's descriptor; once the file is cut to nothing, those reads come back short.
 * Their lines are in the copy the rotation left beside the file: the catalog must end up with
 * every line, once, and the live totals must not count the copy again.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { DB_FILE } from '../../src/catalog/db.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { startChildServer } from './child-server.js';
import { indexLine } from './support.js';

/** Enough lines for several 4 MiB first-pass ranges (≈ 190 bytes a line). */
const LINES = 60_000;
/** Alerts for two ranges (≈ 190 bytes a line). */
const ALERTS = 30_000;

function alertLine(i: number): string {
  const host = `host-0${i % 3}`;
  return `${JSON.stringify({ host, symptom: 'disk_low', detail: `disk_low on ${host}: ${'x'.repeat(60)} ${i}`, suggested_fix: 'check the host', detected_at_wall: 1_790_000_000 + i / 10, dedup_key: `${host}:disk_low` })}\n`;
}

async function committed(url: string, source = 'index'): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`cis490_dashboard_catalog_committed_lines_total{source="${source}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const state = async (url: string) => (await getJson<DashboardState>({ url }, '/api/state')).body;

describe('fault: copytruncate of the index while the catalog writer trails a cold first pass', () => {
  it('commits every first-pass line from the rotated copy, once', async () => {
    const tmp = tempDir('cis490-fault-cold-copytruncate-');
    const dataRoot = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    fs.mkdirSync(path.join(dataRoot, 'episodes'), { recursive: true });

    // A first run on the empty root makes the catalog (schema, data root recorded): the second
    // run's start then writes nothing to it before its catalog writer does.
    const empty = await startChildServer({ dataRoot, stateDir });
    await vi.waitFor(async () => expect((await state(empty.url)).ready).toBe(true), { timeout: 30_000 });
    await empty.kill();

    const index = path.join(dataRoot, 'index.jsonl');
    const ids = Array.from({ length: LINES }, (_, i) => `ct-${String(i).padStart(6, '0')}`);
    fs.writeFileSync(index, ids.map((id, i) => indexLine(id, `host-0${i % 3}`)).join(''));
    const alerts = path.join(dataRoot, 'alerts.jsonl');
    fs.writeFileSync(alerts, Array.from({ length: ALERTS }, (_, i) => alertLine(i)).join(''));

    // The writer is held (another process has the catalog's write lock, as a backup tool would)
    // while the first pass reads the whole index into the live state.
    const lock = new Database(path.join(stateDir, DB_FILE));
    lock.exec('BEGIN IMMEDIATE');
    let locked = true;
    try {
      const run = await startChildServer({ dataRoot, stateDir });
      await vi.waitFor(
        async () =>
          expect(await state(run.url)).toMatchObject({ total_episodes: LINES, total_alerts: ALERTS }),
        { timeout: 60_000, interval: 100 },
      );
      expect(await committed(run.url)).toBe(0);
      expect(await committed(run.url, 'alerts')).toBe(0);

      // logrotate's copytruncate: a copy, then the file cut to nothing (both files).
      for (const file of [index, alerts]) {
        fs.copyFileSync(file, `${file}.1`);
        fs.truncateSync(file, 0);
      }
      lock.exec('ROLLBACK');
      lock.close();
      locked = false;

      await vi.waitFor(async () => expect(await committed(run.url)).toBe(LINES), {
        timeout: 60_000,
        interval: 100,
      });
      const page = (await getJson<EpisodesPage>({ url: run.url }, '/api/episodes?limit=1&q=ct-')).body;
      expect(page.total).toBe(LINES);
      await vi.waitFor(async () => expect(await committed(run.url, 'alerts')).toBe(ALERTS), {
        timeout: 60_000,
        interval: 100,
      });
      // The copy is the same lines: nothing counted twice, live or in the catalog.
      expect(await state(run.url)).toMatchObject({ total_episodes: LINES, total_alerts: ALERTS });
      const db = new Database(path.join(stateDir, DB_FILE), { readonly: true });
      try {
        expect(db.prepare('SELECT count(*) FROM episodes').pluck().get()).toBe(LINES);
        expect(db.prepare('SELECT sum(duplicates) FROM episodes').pluck().get()).toBe(0);
        expect(db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(ALERTS);
      } finally {
        db.close();
      }
      await run.kill();
    } finally {
      if (locked) {
        lock.exec('ROLLBACK');
        lock.close();
      }
    }
  }, 180_000);
});
