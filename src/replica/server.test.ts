/**
 * The replica's HTTP side (`serve --redis`, in process) against a real redis-server: the explorer
 * from its catalog with `receiver=`, hosts per (receiver, host), `/metrics` by receiver, phase
 * posts appended to the stream, details and downloads proxied to the receiver's agent.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { readAll } from '../../test/support/agent.js';
import { redisServer } from '../../test/support/redis-server.js';
import { appendLab, newLab, until, writeSnapshot } from '../../test/support/replica-harness.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import type { AlertLifecycleResponse } from '../protocol/alerts.js';
import type { AlertsPage, EpisodesPage, HostsResponse } from '../protocol/api.js';
import type { DashboardState, PhaseMix, UnsequencedEvent } from '../protocol/index.js';
import { type ReplicaServer, startReplicaServer } from './server.js';

async function replicaServer(redisUrl: string, extra: Record<string, unknown> = {}): Promise<ReplicaServer> {
  const dir = tempDir('cis490-replica-');
  const server = await startReplicaServer({
    redis: redisUrl,
    stateDir: dir,
    port: 0,
    logLevel: 'silent',
    webDir: path.join(dir, 'no-web'),
    ...extra,
  });
  onTestFinished(() => server.close());
  return server;
}

/** A stand-in for a receiver's agent: answers detail and download, recording what it was sent. */
async function fakeAgent(): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url?.endsWith('/download')) {
      res.writeHead(206, { 'content-type': 'application/zstd', 'content-range': 'bytes 2-4/10' });
      res.end('abc');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ episode: { episode_id: 'x' }, meta: null, labels: [], members: [], read_error: null }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('replica HTTP', () => {
  test('explorer, hosts and metrics by receiver; phase posts go through the stream', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const a = newLab('rack-a');
    const b = newLab('rack-b');
    await appendLab(log, a, 12);
    await appendLab(log, b, 8);
    const tokenFile = path.join(tempDir(), 'phase-token');
    fs.writeFileSync(tokenFile, 'phase-secret-token\n');
    const server = await replicaServer(redis.url, { phaseTokenFile: tokenFile });
    await until(server.replica, await log.lastSeq());

    const page = (await (
      await fetch(`${server.url}/api/episodes?receiver=rack-b&limit=5`)
    ).json()) as EpisodesPage;
    expect(page.total).toBe(8);
    expect(page.items).toHaveLength(5);
    expect(page.items.every((e) => e.receiver === 'rack-b')).toBe(true);
    const rest = (await (
      await fetch(`${server.url}/api/episodes?receiver=rack-b&limit=5&cursor=${page.next_cursor}`)
    ).json()) as EpisodesPage;
    expect(rest.items.map((e) => e.episode_id)).toHaveLength(3);
    expect(new Set([...page.items, ...rest.items].map((e) => e.episode_id)).size).toBe(8);
    // A name no receiver can have is a 400 saying so, not an empty answer.
    for (const route of ['/api/episodes', '/api/alerts', '/api/alerts/lifecycle']) {
      const bad = await fetch(`${server.url}${route}?receiver=bad/name`);
      expect(bad.status, route).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
        /'receiver' must be a receiver name/,
      );
    }
    const oneHost = (await (
      await fetch(`${server.url}/api/episodes?host=rack-a/host-0`)
    ).json()) as EpisodesPage;
    expect(oneHost.total).toBe(6);
    const facets = (await (await fetch(`${server.url}/api/episodes/facets`)).json()) as {
      host: Record<string, number>;
    };
    expect(facets.host).toEqual({
      'rack-a/host-0': 6,
      'rack-a/host-1': 6,
      'rack-b/host-0': 4,
      'rack-b/host-1': 4,
    });
    const bad = await fetch(`${server.url}/api/episodes?bogus=1`);
    expect(bad.status).toBe(400);

    const hosts = (await (await fetch(`${server.url}/api/hosts`)).json()) as HostsResponse;
    expect(hosts.hosts.map((h) => [h.receiver, h.host_id, h.episodes])).toEqual([
      ['rack-a', 'host-0', 6],
      ['rack-a', 'host-1', 6],
      ['rack-b', 'host-0', 4],
      ['rack-b', 'host-1', 4],
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('cis490_dashboard_receiver_episodes{receiver="rack-a"} 12');
    expect(metrics).toContain('cis490_dashboard_receiver_episodes{receiver="rack-b"} 8');

    const before = await log.lastSeq();
    const posted = await fetch(`${server.url}/api/phase`, {
      method: 'POST',
      headers: { authorization: 'Bearer phase-secret-token', 'content-type': 'application/json' },
      body: JSON.stringify({ host_id: 'host-0', phase: 'train' }),
    });
    expect(posted.status).toBe(202);
    const { seq } = (await posted.json()) as { seq: number };
    expect(seq).toBe(before + 1);
    // Acknowledged by Redis: in the stream already, and back through the subscription.
    expect((await log.read(seq))?.[0]?.event).toMatchObject({
      type: 'phase',
      host_id: 'host-0',
      phase: 'train',
    });
    await until(server.replica, seq);
    expect(server.replica.feed.state.live_phases['host-0']?.phase).toBe('train');
  });

  test('details and downloads are proxied to the owning agent (token and Range passed); 503 naming the receiver when it is down', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const a = newLab('rack-a');
    await appendLab(log, a, 3);
    const server = await replicaServer(redis.url);
    await until(server.replica, await log.lastSeq());

    const down = await fetch(`${server.url}/api/episodes/rack-a-ep-1`);
    expect(down.status).toBe(503);
    const body = (await down.json()) as {
      error: { code: string; receiver: string; last_seen: string | null };
    };
    expect(body.error.code).toBe('agent_unavailable');
    expect(body.error.receiver).toBe('rack-a');
    expect(body.error.last_seen).not.toBeNull();

    const agent = await fakeAgent();
    await log.command([
      'SET',
      log.keys.heartbeat('rack-a'),
      JSON.stringify({ url: agent.url, at: new Date().toISOString(), pid: 1, version: 'test' }),
      'EX',
      '30',
    ]);
    const detail = await fetch(`${server.url}/api/episodes/rack-a-ep-1`, {
      headers: { authorization: 'Bearer read-token-1' },
    });
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as { episode: { receiver: string } }).episode.receiver).toBe('rack-a');
    const download = await fetch(`${server.url}/api/episodes/rack-a-ep-1/download`, {
      headers: { authorization: 'Bearer read-token-1', range: 'bytes=2-4' },
    });
    expect(download.status).toBe(206);
    expect(download.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await download.text()).toBe('abc');
    expect(agent.seen.map((h) => h.authorization)).toEqual(['Bearer read-token-1', 'Bearer read-token-1']);
    expect(agent.seen[1]?.range).toBe('bytes=2-4');
    expect((await fetch(`${server.url}/api/episodes/nope`)).status).toBe(404);

    // Redis away: the heartbeat cannot be read, and the request is not left waiting for it.
    await redis.kill();
    const noRedis = await fetch(`${server.url}/api/episodes/rack-a-ep-1`);
    expect(noRedis.status).toBe(503);
    const why = (await noRedis.json()) as { error: { code: string; message: string; last_seen: string } };
    expect(why.error.code).toBe('agent_unavailable');
    expect(why.error.message).toMatch(/cannot be looked up/);
    expect(why.error.last_seen).not.toBeNull();
  });

  test("alert lifecycle per receiver: two receivers' groups with one dedup_key are listed, acted on and taken back apart", async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const corrupt = (detail: string, second: number): UnsequencedEvent => ({
      type: 'alert',
      host_id: 'host-0',
      symptom: 'episode_corrupt',
      detail,
      suggested_fix: null,
      detected_at: new Date(Date.UTC(2026, 11, 4, 0, 0, second)).toISOString(),
      dedup_key: 'host-0-corrupt',
    });
    await log.append({ receiver: 'rack-a', events: [corrupt('a1', 1), corrupt('a2', 2)] });
    await log.append({ receiver: 'rack-b', events: [corrupt('b1', 3)] });
    const tokenFile = path.join(tempDir(), 'phase-token');
    fs.writeFileSync(tokenFile, 'phase-secret-token\n');
    const server = await replicaServer(redis.url, { phaseTokenFile: tokenFile });
    await until(server.replica, await log.lastSeq());
    const lifecycle = async (query = '') =>
      (await (await fetch(`${server.url}/api/alerts/lifecycle${query}`)).json()) as AlertLifecycleResponse;
    const states = async () =>
      Object.fromEntries(
        (await lifecycle()).items.map((g) => [`${g.receiver}:${g.dedup_key}`, [g.state, g.count]]),
      );
    const operator = { authorization: 'Bearer phase-secret-token', 'content-type': 'application/json' };

    expect(await states()).toEqual({
      'rack-a:host-0-corrupt': ['open', 2],
      'rack-b:host-0-corrupt': ['open', 1],
    });
    const onlyB = await lifecycle('?receiver=rack-b');
    expect(onlyB.items.map((g) => [g.receiver, g.detail, g.count])).toEqual([['rack-b', 'b1', 1]]);
    expect(onlyB.total).toBe(1);
    expect((await lifecycle('?host=rack-a/host-0')).items.map((g) => g.receiver)).toEqual(['rack-a']);

    const body = { dedup_key: 'host-0-corrupt', kind: 'acknowledge', by: 'ops' };
    const ambiguous = await fetch(`${server.url}/api/alerts/actions`, {
      method: 'POST',
      headers: operator,
      body: JSON.stringify(body),
    });
    expect(ambiguous.status).toBe(409);
    expect(((await ambiguous.json()) as { error: { code: string } }).error.code).toBe('ambiguous_receiver');

    // A receiver no agent appended for: refused, not kept in every replica's state for good.
    const unknown = await fetch(`${server.url}/api/alerts/actions`, {
      method: 'POST',
      headers: operator,
      body: JSON.stringify({ ...body, receiver: 'nope' }),
    });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_receiver');

    const acked = await fetch(`${server.url}/api/alerts/actions`, {
      method: 'POST',
      headers: operator,
      body: JSON.stringify({ ...body, receiver: 'rack-a' }),
    });
    expect(acked.status).toBe(201);
    expect(await acked.json()).toMatchObject({ dedup_key: 'host-0-corrupt', receiver: 'rack-a', by: 'ops' });
    await until(server.replica, await log.lastSeq());
    expect(await states()).toEqual({
      'rack-a:host-0-corrupt': ['acknowledged', 2],
      'rack-b:host-0-corrupt': ['open', 1],
    });
    expect(server.replica.feed.state.alert_actions['rack-a/host-0-corrupt']?.by).toBe('ops');

    const cleared = await fetch(`${server.url}/api/alerts/actions?dedup_key=host-0-corrupt&receiver=rack-b`, {
      method: 'DELETE',
      headers: { authorization: operator.authorization },
    });
    expect(await cleared.json()).toEqual({ removed: false });
    const taken = await fetch(`${server.url}/api/alerts/actions?dedup_key=host-0-corrupt&receiver=rack-a`, {
      method: 'DELETE',
      headers: { authorization: operator.authorization },
    });
    expect(await taken.json()).toEqual({ removed: true });
    await until(server.replica, await log.lastSeq());
    expect(await states()).toEqual({
      'rack-a:host-0-corrupt': ['open', 2],
      'rack-b:host-0-corrupt': ['open', 1],
    });
  });

  test('(item 2) a phase post and an alert action retried with the same Idempotency-Key — on another replica — are appended once', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    await log.append({
      receiver: 'rack-a',
      events: [
        {
          type: 'alert',
          host_id: 'host-0',
          symptom: 'disk_low',
          detail: 'a',
          suggested_fix: null,
          detected_at: '2026-12-04T00:00:00Z',
          dedup_key: 'k1',
        },
      ],
    });
    const tokenFile = path.join(tempDir(), 'phase-token');
    fs.writeFileSync(tokenFile, 'phase-secret-token\n');
    const one = await replicaServer(redis.url, { phaseTokenFile: tokenFile });
    const two = await replicaServer(redis.url, { phaseTokenFile: tokenFile });
    await Promise.all([until(one.replica, await log.lastSeq()), until(two.replica, await log.lastSeq())]);
    const post = (url: string, route: string, body: unknown, key?: string) =>
      fetch(`${url}${route}`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer phase-secret-token',
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify(body),
      });
    const phase = { host_id: 'host-0', phase: 'train', episode_id: 'ep-1' };
    // The first try was appended (its answer, say, lost on the way); the client retries elsewhere.
    const first = await post(one.url, '/api/phase', phase, 'req-0001');
    const retry = await post(two.url, '/api/phase', phase, 'req-0001');
    expect([first.status, retry.status]).toEqual([202, 202]);
    const seq = ((await first.json()) as { seq: number }).seq;
    expect(await retry.json()).toEqual({ seq });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const action = { dedup_key: 'k1', kind: 'acknowledge', by: 'ops' };
    const acted = await post(one.url, '/api/alerts/actions', action, 'req-0002');
    const stored = (await acted.json()) as { at: string };
    // Once the other replica holds it, a retry there answers as the first did (its time included).
    await vi.waitFor(
      async () => {
        const state = (await (await fetch(`${two.url}/api/state`)).json()) as DashboardState;
        expect(Object.values(state.alert_actions ?? {}).map((a) => a.at)).toContain(stored.at);
      },
      { timeout: 20_000, interval: 50 },
    );
    const actedAgain = await post(two.url, '/api/alerts/actions', action, 'req-0002');
    expect([acted.status, actedAgain.status]).toEqual([201, 201]);
    expect(actedAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(await actedAgain.json()).toEqual(stored);
    // Without a key a post is appended each time, as before.
    await post(one.url, '/api/phase', phase);
    await post(one.url, '/api/phase', phase);
    const bad = await post(one.url, '/api/phase', phase, 'x'.repeat(129));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_idempotency_key');
    const records = await readAll(log);
    expect(records.filter((r) => r.event.type === 'phase')).toHaveLength(3);
    expect(records.filter((r) => r.event.type === 'alert_action')).toHaveLength(1);
  });

  test('(item 3) GET /api/alerts takes receiver= on a replica (items name their receiver; dedup groups per receiver); (item 4) an action stored under a bare dedup_key is moved to <receiver>/<dedup_key> at start', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const alert = (dedup_key: string, detail: string): UnsequencedEvent => ({
      type: 'alert',
      host_id: 'host-0',
      symptom: 'disk_low',
      detail,
      suggested_fix: null,
      detected_at: '2026-12-04T00:00:00Z',
      dedup_key,
    });
    await log.append({
      receiver: 'rack-a',
      events: [alert('shared', 'a1'), alert('shared', 'a2'), alert('only-a', 'a3')],
    });
    await log.append({ receiver: 'rack-b', events: [alert('shared', 'b1')] });
    // An action of the single-receiver keying (no receiver, bare key), as an older replica stored it.
    const old = {
      dedup_key: 'only-a',
      kind: 'acknowledge',
      by: 'ops',
      at: new Date().toISOString(),
      until: null,
      note: null,
    };
    await log.append({
      receiver: '_api',
      events: [{ type: 'alert_action', dedup_key: 'only-a', action: old as never }],
    });
    const server = await replicaServer(redis.url);
    await vi.waitFor(() =>
      expect(Object.keys(server.replica.feed.state.alert_actions).sort()).toEqual(['rack-a/only-a']),
    );
    expect(server.replica.feed.state.alert_actions['rack-a/only-a']).toMatchObject({
      by: 'ops',
      receiver: 'rack-a',
    });
    const lifecycle = (await (
      await fetch(`${server.url}/api/alerts/lifecycle?receiver=rack-a`)
    ).json()) as AlertLifecycleResponse;
    expect(lifecycle.items.find((g) => g.dedup_key === 'only-a')?.state).toBe('acknowledged');

    const alerts = async (query: string) => {
      const res = await fetch(`${server.url}/api/alerts${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as AlertsPage;
    };
    const onlyB = await alerts('?receiver=rack-b');
    expect(onlyB.items.map((a) => [a.receiver, a.detail])).toEqual([['rack-b', 'b1']]);
    expect(onlyB.total).toBe(1);
    expect((await alerts('?receiver=rack-a,rack-b')).total).toBe(4);
    expect((await alerts('?host=rack-b/host-0')).items.map((a) => a.detail)).toEqual(['b1']);
    const grouped = await alerts('?dedup=1');
    expect(
      (grouped.items as Array<{ receiver?: string; dedup_key: string | null; count: number }>)
        .map((g) => `${g.receiver}:${g.dedup_key}:${g.count}`)
        .sort(),
    ).toEqual(['rack-a:only-a:1', 'rack-a:shared:2', 'rack-b:shared:1']);
    expect((await alerts('?receiver=nowhere')).total).toBe(0);
  });

  test("(item 5) the phase mix over receivers is the exact sum of each receiver's counts; two receivers' host-0 stay apart; a receiver's new mix replaces its part", async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    type Mix = Extract<UnsequencedEvent, { type: 'phase_mix' }>;
    const part = (counts: Record<string, number>, seconds: Record<string, number>, episodes: number) => ({
      counts,
      weighted_seconds: seconds,
      sampled_episodes: episodes,
      total_labels: Object.values(counts).reduce((a, b) => a + b, 0),
      population_episodes: episodes,
    });
    const mix = (perHost: Record<string, ReturnType<typeof part>>, skipped: Record<string, number>): Mix => {
      const hosts = Object.values(perHost);
      const sum = (pick: (p: ReturnType<typeof part>) => Record<string, number>) => {
        const out: Record<string, number> = {};
        for (const h of hosts) for (const [k, v] of Object.entries(pick(h))) out[k] = (out[k] ?? 0) + v;
        return out;
      };
      return {
        type: 'phase_mix',
        counts: sum((h) => h.counts),
        weighted_seconds: sum((h) => h.weighted_seconds),
        sampled_episodes: hosts.reduce((n, h) => n + h.sampled_episodes, 0),
        total_labels: hosts.reduce((n, h) => n + h.total_labels, 0),
        population_episodes: hosts.reduce((n, h) => n + h.population_episodes, 0),
        per_host: perHost,
        skipped,
        computed_at: '2026-12-04T00:00:00.000Z',
        mode: 'all',
      };
    };
    const a = mix(
      {
        'host-0': part({ boot: 3, train: 7 }, { boot: 1.5, train: 70.25 }, 4),
        'host-1': part({ train: 2, eval: 5 }, { train: 20, eval: 12.5 }, 3),
      },
      { truncated: 1 },
    );
    const b = mix({ 'host-0': part({ boot: 11, eval: 1 }, { boot: 9.75, eval: 0.5 }, 6) }, { not_tar: 2 });
    await log.append({
      receiver: 'rack-a',
      events: [{ ...a, computed_at: '2026-12-03T00:00:00.000Z', counts: { boot: 999 } }],
    });
    await log.append({ receiver: 'rack-b', events: [b] });
    await log.append({ receiver: 'rack-a', events: [a] }); // replaces rack-a's first mix
    const server = await replicaServer(redis.url);
    await until(server.replica, await log.lastSeq());
    const got = (await (await fetch(`${server.url}/api/phase-mix`)).json()) as PhaseMix;
    expect(got.counts).toEqual({ boot: 3 + 11, train: 7 + 2, eval: 5 + 1 });
    expect(got.weighted_seconds).toEqual({ boot: 1.5 + 9.75, train: 70.25 + 20, eval: 12.5 + 0.5 });
    expect(got.sampled_episodes).toBe(4 + 3 + 6);
    expect(got.total_labels).toBe(a.total_labels + b.total_labels);
    expect(got.population_episodes).toBe(13);
    expect(got.skipped).toEqual({ truncated: 1, not_tar: 2 });
    expect(got.per_host).toEqual({
      'rack-a/host-0': a.per_host['host-0'],
      'rack-a/host-1': a.per_host['host-1'],
      'rack-b/host-0': b.per_host['host-0'],
    });
    const oneHost = (await (
      await fetch(`${server.url}/api/phase-mix?host=rack-b/host-0`)
    ).json()) as PhaseMix;
    expect(oneHost.counts).toEqual({ boot: 11, eval: 1 });
  });

  test('/readyz of a replica built after the stream was trimmed names the receivers whose older catalog rows are missing (their agents are down)', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url, { maxLen: 100 });
    const lab = newLab('rack-a');
    for (let i = 0; i < 5; i++) await appendLab(log, lab, 60);
    await writeSnapshot(log, lab, await log.lastSeq());
    const server = await replicaServer(redis.url);
    await vi.waitFor(async () => {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        ready: boolean;
        catalog?: { complete: boolean; pending: Array<{ receiver: string; error: { code: string } | null }> };
      };
      expect(body.ready).toBe(true);
      expect(body.catalog?.complete).toBe(false);
      expect(body.catalog?.pending.map((p) => [p.receiver, p.error?.code])).toEqual([
        ['rack-a', 'agent_unavailable'],
      ]);
    });
  });
});
