import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scrapeMetrics } from '../../test/support/metrics.js';
import { getJson, testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import type { DashboardState } from '../protocol/index.js';

type Scrape = Awaited<ReturnType<typeof scrapeMetrics>>;

const indexLine = (id: string) =>
  `${JSON.stringify({ episode_id: id, host_id: 'host-01', sha256: 'b'.repeat(64), size_bytes: 7, received_at_wall: '2026-11-29T10:00:00Z' })}\n`;
const alertLine = (key: string) =>
  `${JSON.stringify({ host: 'host-01', symptom: 'disk', detail: 'd', suggested_fix: 'f', detected_at_wall: '2026-11-29T10:00:00Z', dedup_key: key })}\n`;

/** The `input_*` series of one source in one scrape. */
function inputOf(m: Scrape, source: 'index' | 'alerts') {
  const s = `source="${source}"`;
  const skipped = (reason: string) => m('input_lines_skipped_total', `${s},reason="${reason}"`) || 0;
  return {
    lines: m('input_lines_total', s),
    records: m('input_records_total', s),
    batches: m('input_batches_total', s),
    bytes: m('input_bytes_total', s),
    malformed_json: skipped('malformed_json'),
    not_object: skipped('not_object'),
    nul_padding: skipped('nul_padding'),
  };
}

function minus<T extends Record<string, number>>(a: T, b: T): T {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)])) as T;
}

describe('the metrics projection of the ingest log', () => {
  it('counts a cold first pass exactly, then moves by exactly the lines appended to the running server', async () => {
    const root = path.join(tempDir('cis490-ingest-metrics-'), 'root');
    await generateDataRoot({ out: root, hosts: 2, episodes: 6, alerts: 3, telemetryKb: 4, seed: 5 });
    const index = path.join(root, 'index.jsonl');
    const alerts = path.join(root, 'alerts.jsonl');
    const firstLine = `${fs.readFileSync(index, 'utf8').split('\n')[0]}\n`;
    // The first pass (compact batches): garbage, a repeat and a NUL-padded line among the records.
    fs.appendFileSync(index, `not json\nnull\n${firstLine}\0\0${indexLine('ep-nul-0')}`);
    const server = await testServer({ dataRoot: root, phaseInterval: 3600 });
    await server.pipeline.whenReady();

    const atReady = await scrapeMetrics(server.url);
    const index0 = inputOf(atReady, 'index');
    expect(index0).toMatchObject({
      lines: 6 + 4,
      records: 7,
      bytes: fs.statSync(index).size,
      malformed_json: 1,
      not_object: 1,
      nul_padding: 1,
    });
    expect(index0.batches).toBeGreaterThan(0);
    expect(atReady('input_duplicate_ids_total')).toBe(1);
    const alerts0 = inputOf(atReady, 'alerts');
    expect(alerts0).toMatchObject({ lines: 3, records: 3, bytes: fs.statSync(alerts).size });
    const total0 = (await getJson<DashboardState>(server, '/api/state')).body.total_episodes;

    // Live (the tailer's per-line batches): 4 new episodes, a repeat, 2 unparsable lines.
    const appended = [
      indexLine('ep-live-1'),
      indexLine('ep-live-2'),
      firstLine,
      'oops\n',
      '[1]\n',
      `\0\0\0${indexLine('ep-live-3')}`,
      indexLine('ep-live-4'),
    ].join('');
    fs.appendFileSync(index, appended);
    fs.appendFileSync(alerts, `${alertLine('k-live-1')}{"half":\n${alertLine('k-live-2')}`);
    const indexSize = fs.statSync(index).size;
    const alertsSize = fs.statSync(alerts).size;
    let later = atReady;
    await vi.waitFor(
      async () => {
        later = await scrapeMetrics(server.url);
        expect(later('input_bytes_total', 'source="index"')).toBe(indexSize);
        expect(later('input_bytes_total', 'source="alerts"')).toBe(alertsSize);
      },
      { timeout: 15_000, interval: 50 },
    );
    // nul_padding moves by 1: when the reader kept its own counts, the tailer's count of a reason
    // replaced the first pass's under the same key (this delta was 0).
    const index1 = minus(inputOf(later, 'index'), index0);
    expect(index1).toMatchObject({
      lines: 7,
      records: 4,
      bytes: Buffer.byteLength(appended),
      malformed_json: 1,
      not_object: 1,
      nul_padding: 1,
    });
    expect(index1.batches).toBeGreaterThan(0);
    expect(later('input_duplicate_ids_total') - atReady('input_duplicate_ids_total')).toBe(1);
    expect(minus(inputOf(later, 'alerts'), alerts0)).toMatchObject({
      lines: 3,
      records: 2,
      malformed_json: 1,
    });
    // The live state applied the same batches.
    await vi.waitFor(async () =>
      expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(total0 + 4),
    );
    // The reader's position is its own gauge, beside the counts.
    expect(later('input_bytes_read', 'source="index"')).toBe(indexSize);
  });

  it("counts a restart's cold backlog (the tailer's batches through the compact parser) with the tailer's skips", async () => {
    const root = tempDir('cis490-ingest-metrics-cold-');
    const stateDir = path.join(tempDir('cis490-ingest-metrics-state-'), 'state');
    const index = path.join(root, 'index.jsonl');
    // A first run commits a position in an index that holds no episode: the catalog stays empty,
    // so the next start is cold but resumes from a checkpoint (no ranged pass).
    fs.writeFileSync(index, 'not json\n');
    const first = await testServer({ dataRoot: root, stateDir, phaseInterval: 3600 });
    await first.pipeline.whenCatalogCaughtUp();
    await first.close();

    const appended = [
      indexLine('ep-1'),
      indexLine('ep-2'),
      indexLine('ep-1'),
      'null\n',
      `\0${indexLine('ep-3')}`,
      `${'x'.repeat(2 * 1024 * 1024)}\n`,
    ].join('');
    fs.appendFileSync(index, appended);
    const server = await testServer({ dataRoot: root, stateDir, phaseInterval: 3600 });
    await server.pipeline.whenReady();
    const m = await scrapeMetrics(server.url);
    expect(inputOf(m, 'index')).toMatchObject({
      lines: 5,
      records: 3,
      bytes: Buffer.byteLength(appended),
      not_object: 1,
      nul_padding: 1,
      malformed_json: 0,
    });
    expect(m('input_lines_skipped_total', 'source="index",reason="line_too_long"')).toBe(1);
    expect(m('input_duplicate_ids_total')).toBe(1);
    expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(3);
  });
});
