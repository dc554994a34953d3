/**
 * Fault case 6: SIGKILL of the real server process during the ingest of a large index (once in
 * the first pass, once while the catalog writer trails the live state and a writer appends), then
 * a restart: totals equal the data root, the catalog holds every episode once, and no episode id
 * is pushed twice over the WebSocket across the runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BULK_THRESHOLD } from '../../src/feeders/jsonl-feeder.js';
import { generateDataRoot } from '../../src/generate/generate.js';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { startChildServer } from './child-server.js';
import { IdRecorder, indexLine, metric, mib, RSS_BOUND_BYTES, report, scale } from './support.js';

// Large enough that the first pass is still running when the server first answers (the one-parser
// first pass reads 80,000 lines before the HTTP app is built).
const INDEX_LINES = scale(400_000, 1_500_000);
const LIVE_LINES = scale(300, 3_000);
/**
 * Live lines per append, each burst seen over the WebSocket before the next: a read of more than
 * BULK_THRESHOLD lines at once is published as a snapshot, not as one `episode` event per id (the
 * soak once wrote its 1,500 live lines in one go and waited forever for ids that came folded).
 */
const LIVE_BURST = BULK_THRESHOLD / 10;

/** Appends live-<from>..live-<to - 1> in bursts, each waited for (by id) on `client`. */
async function appendLive(index: string, client: IdRecorder, from: number, to: number, live: string[]) {
  for (let at = from; at < to; at += LIVE_BURST) {
    let burst = '';
    const end = Math.min(to, at + LIVE_BURST);
    for (let i = at; i < end; i++) {
      live.push(`live-${i}`);
      burst += indexLine(`live-${i}`, 'host-02');
    }
    fs.appendFileSync(index, burst);
    await client.until(() => client.seen.has(`live-${end - 1}`), `live-${end - 1}`);
  }
}

describe('fault: SIGKILL during ingest, then restart', () => {
  it('ends with the data root totals, every episode once in the catalog and once over the WebSocket', async () => {
    const started = Date.now();
    const tmp = tempDir('cis490-fault-kill-');
    const dataRoot = path.join(tmp, 'root');
    const stateDir = path.join(tmp, 'state');
    const summary = await generateDataRoot({
      out: dataRoot,
      hosts: 4,
      episodes: 20,
      indexLines: INDEX_LINES,
      alerts: 3_000,
      telemetryKb: 4,
      seed: 8_006,
    });
    /** Peak RSS of each run, read just before it was killed (a killed process has no /proc entry). */
    const peaks: Record<string, number | null> = {};
    const index = path.join(dataRoot, 'index.jsonl');

    // Run 1: killed in the first pass (as soon as it serves; the index takes longer than that).
    const run1 = await startChildServer({ dataRoot, stateDir });
    const s1 = await getJson<DashboardState>({ url: run1.url }, '/api/state');
    peaks.run1 = await run1.kill();
    expect(s1.body.ready, 'killed during the first pass').toBe(false);

    // Run 2: ready, the catalog writer behind it; a writer appends live lines a client watches.
    const run2 = await startChildServer({ dataRoot, stateDir });
    const client2 = IdRecorder.to({ url: run2.url });
    await client2.until(() => client2.hello?.state.ready === true || client2.lastSeq > 0, 'hello');
    await vi.waitFor(
      async () =>
        expect((await getJson<DashboardState>({ url: run2.url }, '/api/state')).body.ready).toBe(true),
      {
        timeout: 30_000,
        interval: 50,
      },
    );
    const live: string[] = [];
    const half = Math.floor(LIVE_LINES / 2);
    await appendLive(index, client2, 0, half, live);
    // Killed once the catalog has committed part of the index, not all of it.
    const committed = await vi.waitFor(
      async () => {
        const n = await metric(run2.url, 'catalog_committed_lines_total', 'source="index"');
        expect(n).toBeGreaterThan(0);
        return n;
      },
      { timeout: 30_000, interval: 20 },
    );
    peaks.run2 = await run2.kill();
    client2.close();
    expect(committed, 'the catalog was behind when killed').toBeLessThan(INDEX_LINES);

    // Run 3: resumes from the catalog's checkpoint; the rest of the live lines arrive.
    const run3 = await startChildServer({ dataRoot, stateDir });
    const client3 = IdRecorder.to(
      { url: run3.url },
      `?since=${client2.lastSeq}&epoch=${client2.hello?.epoch ?? ''}`,
    );
    await client3.opened();
    expect(client3.hello?.reset, 'a new epoch resets the client').toBe(true);
    await vi.waitFor(
      async () =>
        expect((await getJson<DashboardState>({ url: run3.url }, '/api/state')).body.ready).toBe(true),
      {
        timeout: 30_000,
        interval: 50,
      },
    );
    await appendLive(index, client3, half, LIVE_LINES, live);

    const expectedTotal = summary.expected.total_episodes + LIVE_LINES;
    const state = (await getJson<DashboardState>({ url: run3.url }, '/api/state')).body;
    expect(state.total_episodes).toBe(expectedTotal);
    expect(state.total_alerts).toBe(summary.expected.total_alerts);
    expect(state.total_bytes).toBe(summary.expected.total_bytes + LIVE_LINES * 1000);

    // Over the WebSocket, across both runs: every live id exactly once.
    const seen = new Map<string, number>();
    for (const c of [client2, client3]) for (const [id, n] of c.seen) seen.set(id, (seen.get(id) ?? 0) + n);
    expect([...seen].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...live].sort());

    await vi.waitFor(
      async () =>
        expect((await getJson<EpisodesPage>({ url: run3.url }, '/api/episodes?limit=1')).body.total).toBe(
          expectedTotal,
        ),
      { timeout: 60_000, interval: 200 },
    );
    client3.close();
    peaks.run3 = await run3.kill();
    report('sigkill', {
      index_lines: INDEX_LINES,
      catalog_lines_committed_at_second_kill: committed,
      peak_rss: Object.fromEntries(Object.entries(peaks).map(([run, bytes]) => [run, mib(bytes)])),
      seconds: (Date.now() - started) / 1000,
    });
    for (const [run, bytes] of Object.entries(peaks)) {
      expect(bytes, `${run}: peak RSS read`).not.toBeNull();
      expect(bytes ?? 0, `${run}: peak RSS`).toBeLessThan(RSS_BOUND_BYTES);
    }
  }, 180_000);
});
