import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { AlertRecord } from '../protocol/index.js';
import { AlertActionStore } from './alert-actions.js';
import { openDatabase } from './db.js';
import { AlertStore } from './ingest-store.js';

/** Deterministic pseudo-random numbers (a test must fail the same way twice). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HOSTS = ['host-a', 'host-b', 'host-c', null];
const SYMPTOMS = ['disk_low', 'heartbeat_missed', 'clock_skew', null];

/** Alerts of every shape a receiver writes: keys shared across hosts, no key, no host, no time, odd texts. */
function alerts(n: number, seed: number): AlertRecord[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, () => {
    const host = pick(HOSTS);
    const symptom = pick(SYMPTOMS);
    const keyed = r();
    return {
      host_id: host,
      symptom,
      detail: 'd',
      suggested_fix: null,
      // Times out of order, some missing, some in another form (compared as text, as stored).
      detected_at: ((t) =>
        t < 0.1
          ? null
          : t < 0.2
            ? `2026-11-01T${String(Math.floor(t * 100) % 24).padStart(2, '0')}:00:00.5+00:00`
            : new Date(Date.UTC(2026, 10, 1) + Math.floor(r() * 86_400_000)).toISOString())(r()),
      dedup_key:
        keyed < 0.15
          ? null
          : keyed < 0.25
            ? `shared:${pick(['x', 'y'])}` // one key across hosts and symptoms
            : keyed < 0.3
              ? pick(['', '#3', 'ü\u2028"q', '__proto__'])
              : `${host}:${symptom}`,
    } satisfies AlertRecord;
  });
}

/** The groups by grouping every alert: what the lifecycle read before groups were kept. */
function grouped(db: ReturnType<typeof openDatabase>, hosts: string[], symptoms: string[]) {
  const where: string[] = [];
  const params: string[] = [];
  if (hosts.length) {
    where.push(`host_id IN (${hosts.map(() => '?').join(',')})`);
    params.push(...hosts);
  }
  if (symptoms.length) {
    where.push(`symptom IN (${symptoms.map(() => '?').join(',')})`);
    params.push(...symptoms);
  }
  return db
    .prepare(
      `SELECT max(id) AS last_id, count(*) AS n, min(detected_at) AS first_seen, max(detected_at) AS last_seen
       FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       GROUP BY dedup_key IS NULL, coalesce(dedup_key, id) ORDER BY last_id DESC`,
    )
    .all(...params) as Array<{
    last_id: number;
    n: number;
    first_seen: string | null;
    last_seen: string | null;
  }>;
}

const FILTERS: Array<[string[], string[]]> = [
  [[], []],
  [['host-a'], []],
  [['host-b', 'host-c'], []],
  [[], ['disk_low']],
  [
    ['host-a', 'host-c'],
    ['heartbeat_missed', 'clock_skew'],
  ],
  [['nobody'], []],
];

function expectSameGroups(db: ReturnType<typeof openDatabase>): void {
  const store = new AlertActionStore(db);
  const lastIds = db.prepare('SELECT max(id) FROM alerts WHERE id = ?').pluck();
  for (const [hosts, symptoms] of FILTERS) {
    const want = grouped(db, hosts, symptoms);
    const got = store.groups({ hosts, symptoms });
    expect({ hosts, symptoms, got: got.map((g) => [g.count, g.first_seen, g.last_seen]) }).toEqual({
      hosts,
      symptoms,
      got: want.map((g) => [g.n, g.first_seen, g.last_seen]),
    });
    // Each group names its newest alert.
    expect(want.every((g) => lastIds.get(g.last_id) === g.last_id)).toBe(true);
  }
}

describe('alert groups', () => {
  it('are counted as alerts are written, batch after batch, as grouping every alert counts them', () => {
    const db = openDatabase(tempDir('cis490-alert-groups-'));
    const store = new AlertStore(db);
    const all = alerts(3000, 7);
    for (let i = 0; i < all.length; i += 137) store.writeBatch(all.slice(i, i + 137), null);
    expectSameGroups(db);
    // Kept rows: one per dedup_key, host and symptom, whatever the number of alerts.
    expect(db.prepare('SELECT count(*) FROM alert_groups').pluck().get()).toBe(
      db
        .prepare(
          'SELECT count(*) FROM (SELECT DISTINCT dedup_key, host_id, symptom FROM alerts WHERE dedup_key IS NOT NULL)',
        )
        .pluck()
        .get(),
    );
    db.close();
  });

  it('are counted from the alerts there are when a catalog of an earlier version is opened', () => {
    const dir = tempDir('cis490-alert-groups-');
    let db = openDatabase(dir);
    new AlertStore(db).writeBatch(alerts(2000, 11), null);
    // As version 7 left it: alerts, no kept groups.
    db.exec('DROP TABLE alert_groups');
    db.pragma('user_version = 7');
    db.close();
    db = openDatabase(dir);
    expectSameGroups(db);
    // And kept from there on.
    new AlertStore(db).writeBatch(alerts(500, 12), null);
    expectSameGroups(db);
    db.close();
  });
});
