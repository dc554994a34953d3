import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, testServer, waitReady } from '../../../test/support/server.js';
import { tempDir } from '../../../test/support/tmp.js';
import { generateDataRoot } from '../../generate/generate.js';
import type { AlertGroup, AlertsPage } from '../../protocol/api.js';
import type { AlertRecord } from '../../protocol/index.js';
import type { RunningServer } from '../../server.js';

const WAIT = { timeout: 20_000, interval: 50 };

async function allPages<T>(server: RunningServer, query: string, limit: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/alerts?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const { status, body } = await getJson<AlertsPage>(server, url);
    expect(status).toBe(200);
    items.push(...(body.items as T[]));
    cursor = body.next_cursor;
  } while (cursor !== null);
  return items;
}

describe('GET /api/alerts from the catalog', () => {
  it('pages, filters by host, symptom and time, and groups by dedup_key', async () => {
    const root = path.join(tempDir('cis490-alerts-'), 'data');
    const summary = await generateDataRoot({
      out: root,
      hosts: 3,
      episodes: 4,
      alerts: 40,
      telemetryKb: 1,
      seed: 3,
    });
    const lines = fs
      .readFileSync(path.join(root, 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { host: string; symptom: string; dedup_key: string });
    const server = await testServer({ dataRoot: root });
    await waitReady(server);
    await vi.waitFor(async () => {
      const { body } = await getJson<AlertsPage>(server, '/api/alerts?limit=1');
      expect(body.total).toBe(summary.alerts);
    }, WAIT);

    // `receiver` is a replica's: a single box has one receiver and says so, as the lifecycle does.
    const byReceiver = await getJson<{ error: { code: string } }>(server, '/api/alerts?receiver=rack-a');
    expect([byReceiver.status, byReceiver.body.error.code]).toEqual([400, 'bad_query']);

    const all = await allPages<AlertRecord>(server, '', 7);
    expect(all).toHaveLength(lines.length);
    // Newest (last written) first.
    expect(all.map((a) => a.dedup_key)).toEqual(lines.map((l) => l.dedup_key).reverse());

    const host = lines[0]?.host as string;
    const byHost = await allPages<AlertRecord>(server, `host=${host}`, 5);
    expect(byHost.length).toBe(lines.filter((l) => l.host === host).length);
    expect(byHost.every((a) => a.host_id === host)).toBe(true);

    const symptom = lines[0]?.symptom as string;
    const bySymptom = await allPages<AlertRecord>(server, `symptom=${symptom}&host=${host}`, 5);
    expect(bySymptom.length).toBe(lines.filter((l) => l.symptom === symptom && l.host === host).length);

    const times = all.map((a) => Date.parse(a.detected_at ?? '')).sort((a, b) => a - b);
    const mid = times[Math.floor(times.length / 2)] as number;
    const recent = await allPages<AlertRecord>(server, `from=${new Date(mid).toISOString()}`, 10);
    expect(recent.length).toBe(times.filter((t) => t >= mid).length);
    const older = await allPages<AlertRecord>(server, `to=${mid / 1000}`, 10);
    expect(older.length).toBe(times.filter((t) => t <= mid).length);

    const groups = await allPages<AlertGroup>(server, 'dedup=1', 3);
    expect(Object.fromEntries(groups.map((g) => [g.dedup_key, g.count]))).toEqual(
      summary.expected.alert_dedup_keys,
    );
    for (const g of groups) {
      const mine = all.filter((a) => a.dedup_key === g.dedup_key).map((a) => a.detected_at as string);
      expect(g.first_seen).toBe([...mine].sort()[0]);
      expect(g.last_seen).toBe([...mine].sort().at(-1));
    }
  });

  it('rejects bad parameters naming them', async () => {
    const root = path.join(tempDir('cis490-alerts-'), 'data');
    fs.mkdirSync(root);
    const server = await testServer({ dataRoot: root });
    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['dedup=maybe', 'dedup'],
      ['from=soon', 'from'],
      ['cursor=zzz', 'cursor'],
      ['severity=high', 'severity'],
      ['from=2026-11-02&to=2026-11-01', 'from'],
      // Made-up cursors, and one of the plain listing given to the grouped one.
      ['cursor=Wy0xXQ', 'cursor'],
      ['cursor=WyJhbGVydHMiLDEuNV0', 'cursor'],
      ['cursor=WyJhbGVydHMiLC0xXQ', 'cursor'],
      ['dedup=1&cursor=WyJhbGVydHMiLDQwXQ', 'cursor'],
    ]) {
      const { status, body } = await getJson<{ error: { message: string } }>(server, `/api/alerts?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.message, query).toContain(`'${name}'`);
    }
  });
});
