/**
 * The real server (live state and catalog writer, each with its own tailer) restarted after
 * index.jsonl and alerts.jsonl were rotated several times while it was stopped: totals and the
 * catalog hold every line exactly once.
 */
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { getJson, testServer } from '../../../test/support/server.js';
import { tailFixture } from '../../../test/support/tail-fixture.js';
import { tempDir } from '../../../test/support/tmp.js';
import type { DashboardState } from '../../protocol/index.js';
import { type RunningServer, startServer } from '../../server.js';
import { createLogger } from '../../util/log.js';

const indexLines = (prefix: string, n: number): string =>
  Array.from(
    { length: n },
    (_, i) =>
      `${JSON.stringify({
        episode_id: `${prefix}-${i + 1}`,
        host_id: `host-${i % 3}`,
        sha256: 'f'.repeat(64),
        size_bytes: 1000,
        received_at_wall: '2026-11-29T10:00:00Z',
      })}\n`,
  ).join('');

const alertLines = (prefix: string, n: number): string =>
  Array.from(
    { length: n },
    (_, i) =>
      `${JSON.stringify({
        host: `host-${i % 3}`,
        symptom: 'disk_low',
        detail: `${prefix} ${i}`,
        suggested_fix: 'free space',
        detected_at_wall: 1_764_410_400 + i,
        dedup_key: `${prefix}-${i}`,
      })}\n`,
  ).join('');

/** Ready, and the catalog has committed `index` and `alerts` lines (this run's). */
async function settled(server: RunningServer, index: number, alerts: number): Promise<void> {
  await server.pipeline.whenReady();
  await server.pipeline.whenCatalogCaughtUp();
  await vi.waitFor(() => expect(server.pipeline.stats().catalog?.committed_lines).toEqual({ index, alerts }));
}

/**
 * A root with 100 index lines ('a-…') and 20 alert lines, served until the catalog has them all,
 * then stopped: the start of every case here, which then rotates while the server is down.
 */
async function servedOnceThenStopped() {
  const root = tempDir('cis490-root-');
  const stateDir = path.join(tempDir('cis490-state-'), 'state');
  const index = tailFixture('index.jsonl', root);
  const alerts = tailFixture('alerts.jsonl', root);
  index.write('index.jsonl', indexLines('a', 100));
  alerts.write('alerts.jsonl', alertLines('a', 20));
  const first = await testServer({ dataRoot: root, stateDir });
  await settled(first, 100, 20);
  await first.close();
  return { root, stateDir, index, alerts };
}

/** The live totals and the explorer's both count `episodes`. */
async function expectTotals(server: RunningServer, episodes: number, alerts: number): Promise<void> {
  const { body: state } = await getJson<DashboardState>(server, '/api/state');
  expect(state.total_episodes).toBe(episodes);
  expect(state.total_alerts).toBe(alerts);
  const { body: page } = await getJson<{ total: number }>(server, '/api/episodes?limit=1');
  expect(page.total).toBe(episodes);
}

describe('serve, restarted after rotations while it was stopped', () => {
  it('counts every line once, in the live totals and in the catalog', async () => {
    const { root, stateDir, index, alerts } = await servedOnceThenStopped();

    // The issue's case: 100 lines read; rename, 100 new; rename twice more, 100 new.
    index.logrotate({ how: 'rename' });
    index.write('index.jsonl', indexLines('b', 100));
    index.logrotate({ how: 'rename' });
    index.write('index.jsonl', indexLines('c', 100));
    // Alerts: more lines, copytruncate, more, rename, a new file, copytruncate, more.
    alerts.append(alertLines('b', 5));
    alerts.logrotate({ how: 'copytruncate' });
    alerts.append(alertLines('c', 10));
    alerts.logrotate({ how: 'rename' });
    alerts.write('alerts.jsonl', alertLines('d', 10));
    alerts.logrotate({ how: 'copytruncate' });
    alerts.append(alertLines('e', 7));

    const second = await testServer({ dataRoot: root, stateDir });
    await settled(second, 200, 32);
    await expectTotals(second, 300, 52);
    const { body: alertPage } = await getJson<{ total: number }>(second, '/api/alerts?limit=1');
    expect(alertPage.total).toBe(52);
    const ids = second.pipeline.db.prepare('SELECT episode_id FROM episodes').pluck().all() as string[];
    const expected = ['a', 'b', 'c'].flatMap((p) => Array.from({ length: 100 }, (_, i) => `${p}-${i + 1}`));
    expect(ids.sort()).toEqual(expected.sort());
    const stats = second.pipeline.stats();
    expect(stats.index).toMatchObject({ checkpoints_lost: 0, lost_bytes: 0, duplicates: 0 });
    expect(stats.alerts).toMatchObject({ checkpoints_lost: 0, lost_bytes: 0 });
  });

  it('says once what it could not read: a checkpointed file deleted, a compressed one', async () => {
    const { root, stateDir, index, alerts } = await servedOnceThenStopped();

    // Index: two renames keeping one rotated file, so the checkpointed one is deleted.
    index.logrotate({ how: 'rename', rotate: 1 });
    index.write('index.jsonl', indexLines('b', 100));
    index.logrotate({ how: 'rename', rotate: 1 });
    index.write('index.jsonl', indexLines('c', 100));
    // Alerts: 5 more lines, then a rename compressed at once (no delaycompress), then a new file.
    const tail = alertLines('b', 5);
    alerts.append(tail);
    alerts.logrotate({ how: 'rename', compress: true });
    alerts.write('alerts.jsonl', alertLines('c', 10));

    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const second = await startServer(
      { dataRoot: root, stateDir, port: 0, pollInterval: 0.1, webDir: path.join(root, '__no_web__') },
      { logger },
    );
    onTestFinished(() => second.close());
    await settled(second, 200, 10);
    await expectTotals(second, 300, 30);

    const lost = logs.filter((l) => l.kind === 'checkpoint_lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      level: 40,
      source: 'index',
      offset: Buffer.byteLength(indexLines('a', 100)),
    });
    const compressed = logs.filter((l) => l.kind === 'compressed_skipped');
    expect(compressed).toHaveLength(1);
    expect(compressed[0]).toMatchObject({
      level: 40,
      source: 'alerts',
      file: path.join(root, 'alerts.jsonl.1.gz'),
      unreadBytes: Buffer.byteLength(tail),
    });
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    for (const line of [
      'cis490_dashboard_input_checkpoints_lost_total{source="index"} 1',
      'cis490_dashboard_input_checkpoints_lost_total{source="alerts"} 0',
      'cis490_dashboard_input_compressed_files_skipped_total{source="alerts"} 1',
      `cis490_dashboard_input_lost_bytes_total{source="alerts"} ${Buffer.byteLength(tail)}`,
    ]) {
      expect(metrics).toContain(line);
    }
  });
});
