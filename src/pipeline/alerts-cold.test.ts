/**
 * A cold start reads `alerts.jsonl` in byte ranges (`scanAlertRange`) and the catalog writer reads
 * its rows from them: what a user sees — the totals, the recent alerts, each host's last, the
 * skip counts in /metrics, the alert rows — is what the per-line path gives for the same file,
 * and a restart counts nothing twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../../test/support/log.js';
import { testPipeline } from '../../test/support/pipeline.js';
import { tempDir } from '../../test/support/tmp.js';
import { parseAlertLine } from '../feeders/records.js';
import { type AlertRecord, RECENT_LIMIT } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';

const HOSTS = ['h1', 'ws-müller-2', 'rack3-gpu-node17.cis490.lab', 'lab-pc-α'];

/** 700 alert lines in a receiver's shapes, with a bad line now and then. */
function alertLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 700; i++) {
    const host = HOSTS[i % HOSTS.length] as string;
    const sep = i % 2 ? ', ' : ',';
    const when =
      i % 3
        ? `"2026-11-0${1 + (i % 9)}T10:00:${String(i % 60).padStart(2, '0')}+00:00"`
        : `${1_790_000_000 + i}.5`;
    lines.push(
      `{"host": ${JSON.stringify(host)}${sep}"symptom": "s${i % 5}"${sep}"detail": "alert ${i}"${sep}"detected_at_wall": ${when}${sep}"dedup_key": "${host}:s${i % 5}"}`,
    );
    if (i % 50 === 7) lines.push('{"host": "h1", "symptom": "cut off');
    if (i % 90 === 3) lines.push('{"host": "h2", "detected_at_wall": "2026-13-40T99:00:00"}');
  }
  return lines;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Many small ranges, as a large alerts file has. */
const start = (root: string, stateDir: string, logger = silentLogger()) =>
  testPipeline(root, stateDir, { firstPassRangeBytes: 4096, logger });

/** Lines of `reason` the log told of: each logged one, and those its summaries say were held back. */
function toldOf(lines: Record<string, unknown>[], reason: string): number {
  let n = 0;
  for (const l of lines) {
    if (l.source === 'alerts' && l.reason === reason) n++;
    if (l.key === `alerts:${reason}`) n += l.suppressed as number;
  }
  return n;
}

describe('a cold start over alerts.jsonl', () => {
  it('shows and stores what the per-line path would, and a restart counts nothing twice', async () => {
    const dir = tempDir('cis490-alerts-cold-');
    dirs.push(dir);
    const root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, 'episodes'), { recursive: true });
    fs.mkdirSync(path.join(root, 'health'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.jsonl'), '');
    const lines = alertLines();
    fs.writeFileSync(path.join(root, 'alerts.jsonl'), `${lines.join('\n')}\n`);
    const expected: AlertRecord[] = [];
    const skipped: Record<string, number> = {};
    for (const line of lines) {
      const r = parseAlertLine(line);
      if (r.ok) expected.push(r.record);
      else skipped[r.reason] = (skipped[r.reason] ?? 0) + 1;
    }
    expect(skipped).toEqual({ malformed_json: 14, invalid_time: 8 });
    const stateDir = path.join(dir, 'state');

    const log = capturedLogger();
    const first = start(root, stateDir, log.logger);
    await first.start();
    try {
      await first.whenCatalogCaughtUp();
      const state = first.live.snapshot();
      expect(state.total_alerts).toBe(expected.length);
      expect(state.recent_alerts).toEqual(expected.slice(-RECENT_LIMIT).reverse());
      const hostLast: Record<string, AlertRecord> = {};
      for (const a of expected) if (a.host_id !== null) hostLast[a.host_id] = a;
      expect(state.host_last_alert).toEqual(hostLast);
      expect(first.stats().alerts).toMatchObject({ lines: lines.length, accepted: expected.length, skipped });
      const rows = first.db.prepare('SELECT host_id, detail, detected_at FROM alerts ORDER BY id').all();
      expect(rows).toEqual(
        expected.map((a) => ({ host_id: a.host_id, detail: a.detail, detected_at: a.detected_at })),
      );
    } finally {
      await first.stop();
    }
    // Every skipped line is in the log by the stop: logged, or counted in a held-back summary.
    expect(toldOf(log.lines, 'malformed_json')).toBe(skipped.malformed_json);
    expect(toldOf(log.lines, 'invalid_time')).toBe(skipped.invalid_time);

    // The committed position is where the pass ended: the restart reads on from there.
    const second = start(root, stateDir);
    await second.start();
    try {
      await second.whenReady();
      expect(second.live.snapshot().total_alerts).toBe(expected.length);
      fs.appendFileSync(
        path.join(root, 'alerts.jsonl'),
        '{"host": "h9", "symptom": "late", "detected_at_wall": "2026-12-01T00:00:00+00:00"}\n',
      );
      await vi.waitFor(() => expect(second.live.snapshot().total_alerts).toBe(expected.length + 1), {
        timeout: 10_000,
        interval: 20,
      });
      await second.whenCatalogCaughtUp();
      expect(second.db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(expected.length + 1);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
