import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { getJson, TestClient, testServer } from '../test/support/server.js';
import { tempDir } from '../test/support/tmp.js';
import { generateDataRoot } from './generate/generate.js';
import type { DashboardState, EpisodeEvent, HelloMessage, ServerMessage } from './protocol/index.js';
import { CLOSE_GOING_AWAY } from './protocol/index.js';
import { applyEvent } from './protocol/reduce.js';

async function generated(episodes = 12, alerts = 6) {
  const out = path.join(tempDir('cis490-root-'), 'root');
  const summary = await generateDataRoot({ out, hosts: 3, episodes, alerts, telemetryKb: 4, seed: 7 });
  return { root: out, summary };
}

function indexLine(id: string, host = 'host-01', size = 1000): string {
  return `${JSON.stringify({
    episode_id: id,
    host_id: host,
    sha256: 'f'.repeat(64),
    size_bytes: size,
    received_at_wall: '2026-11-29T10:00:00Z',
  })}\n`;
}

const isHello = (m: ServerMessage): m is HelloMessage => m.type === 'hello';
const episodeWithId =
  (id: string) =>
  (m: ServerMessage): m is EpisodeEvent =>
    m.type === 'episode' && m.episode_id === id;

function episodeIds(client: TestClient): string[] {
  return client.events().flatMap((e) => (e.type === 'episode' ? [e.episode_id] : []));
}

describe('serve', () => {
  it('reports the totals of a generated root once ready', async () => {
    const { root, summary } = await generated();
    const server = await testServer({ dataRoot: root });
    await server.pipeline.whenReady();
    expect((await getJson(server, '/readyz')).status).toBe(200);
    const { body: state } = await getJson<DashboardState>(server, '/api/state');
    expect(state.total_episodes).toBe(summary.expected.total_episodes);
    expect(state.total_bytes).toBe(summary.expected.total_bytes);
    expect(state.total_alerts).toBe(summary.expected.total_alerts);
    expect(state.host_counts).toEqual(summary.expected.host_counts);
    expect(state.host_bytes).toEqual(summary.expected.host_bytes);
    expect(state.hosts_indexed).toEqual(summary.expected.hosts_indexed);
    expect(state.recent_episodes[0]?.episode_id).toBe(summary.episodes.at(-1)?.episode_id);
    expect(Object.keys(state.health).sort()).toEqual(summary.hosts);
    const hosts = await getJson<{ hosts: Array<{ host_id: string; files_on_disk: number }> }>(
      server,
      '/api/hosts',
    );
    expect(hosts.body.hosts.map((h) => h.host_id)).toEqual(summary.hosts);
  });

  it('streams every appended line exactly once across rename rotation, copytruncate and half lines', async () => {
    const { root } = await generated(4, 0);
    const server = await testServer({ dataRoot: root });
    await server.pipeline.whenReady();
    const client = TestClient.connect(server);
    const hello = await client.waitFor(isHello);
    const index = path.join(root, 'index.jsonl');

    fs.appendFileSync(index, indexLine('live-1'));
    await client.waitFor(episodeWithId('live-1'));

    // A half-written line waits for its newline.
    const half = indexLine('live-2');
    fs.appendFileSync(index, half.slice(0, 20));
    const sizeWithHalf = fs.statSync(index).size;
    // Once the tailer has seen the half line, finish it.
    await vi.waitFor(() => expect(server.pipeline.stats().index.file_size).toBe(sizeWithHalf), {
      timeout: 10_000,
    });
    fs.appendFileSync(index, half.slice(20));
    fs.appendFileSync(index, indexLine('live-3'));
    await client.waitFor(episodeWithId('live-3'));

    // Rename rotation: the writer finishes a line in the old file, then starts a new one.
    fs.renameSync(index, `${index}.1`);
    fs.appendFileSync(`${index}.1`, indexLine('live-4'));
    fs.writeFileSync(index, indexLine('live-5') + indexLine('live-6'));
    await client.waitFor(episodeWithId('live-6'));
    await client.waitFor(episodeWithId('live-4'));

    // Copytruncate: copy, then truncate in place, then keep writing.
    fs.copyFileSync(index, `${index}.2`);
    fs.truncateSync(index, 0);
    fs.appendFileSync(index, indexLine('live-7'));
    await client.waitFor(episodeWithId('live-7'));

    const ids = episodeIds(client);
    expect(ids.filter((id) => id.startsWith('live-')).sort()).toEqual(
      ['live-1', 'live-2', 'live-3', 'live-4', 'live-5', 'live-6', 'live-7'].sort(),
    );
    // The WebSocket state, folded event by event, equals the server's.
    let state = hello.state;
    for (const e of client.events()) state = applyEvent(state, e);
    const { body } = await getJson<DashboardState>(server, '/api/state');
    expect(state.total_episodes).toBe(body.total_episodes);
    expect(body.total_episodes).toBe(4 + 7);
    const seqs = client.events().map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => hello.seq + 1 + i));
  });

  it('replays missed events to a client that resumes, and resumes totals after a restart', async () => {
    const { root, summary } = await generated(5, 2);
    const stateDir = path.join(tempDir('cis490-state-'), 'state');
    const first = await testServer({ dataRoot: root, stateDir });
    await first.pipeline.whenReady();
    const a = TestClient.connect(first);
    const hello = await a.waitFor(isHello);
    a.ws.close();
    await a.closed();
    // Connected before the lines land: the tailer may publish them before a later client's hello.
    const watcher = TestClient.connect(first);
    await watcher.waitFor(isHello);
    fs.appendFileSync(path.join(root, 'index.jsonl'), indexLine('missed-1') + indexLine('missed-2'));
    await watcher.waitFor(episodeWithId('missed-2'));

    const b = TestClient.connect(first, `?since=${hello.seq}&epoch=${hello.epoch}`);
    await b.waitFor(episodeWithId('missed-2'));
    expect(b.messages.some(isHello)).toBe(false);
    expect(episodeIds(b)).toEqual(['missed-1', 'missed-2']);

    // Restart on the same state dir: totals survive, nothing is emitted twice.
    const closing = watcher.closed();
    await first.close();
    expect(await closing).toBe(CLOSE_GOING_AWAY);
    const second = await testServer({ dataRoot: root, stateDir });
    await second.pipeline.whenReady();
    const c = TestClient.connect(second, `?since=${hello.seq}&epoch=${hello.epoch}`);
    const fresh = await c.waitFor(isHello);
    expect(fresh.epoch).not.toBe(hello.epoch);
    expect(fresh.state.total_episodes).toBe(summary.expected.total_episodes + 2);
    fs.appendFileSync(path.join(root, 'index.jsonl'), indexLine('after-restart') + indexLine('missed-1'));
    await c.waitFor(episodeWithId('after-restart'));
    const { body } = await getJson<DashboardState>(second, '/api/state');
    expect(body.total_episodes).toBe(summary.expected.total_episodes + 3);
    expect(episodeIds(c)).toEqual(['after-restart']);
  });

  it('keeps per-host tarball counts and health current as files come and go', async () => {
    const { root, summary } = await generated(6, 0);
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 });
    await server.pipeline.whenReady();
    const client = TestClient.connect(server);
    const hello = await client.waitFor(isHello);
    const host = 'host-01';
    const before = hello.state.host_counts[host] ?? 0;
    const dir = path.join(root, 'episodes', host);
    fs.mkdirSync(dir, { recursive: true });
    // A temp upload is not an episode; the rename that completes it is.
    fs.writeFileSync(path.join(dir, 'ep-new.tar.zst.tmp'), Buffer.alloc(1000));
    fs.writeFileSync(path.join(dir, 'ep-new.sha256'), 'abc');
    fs.renameSync(path.join(dir, 'ep-new.tar.zst.tmp'), path.join(dir, 'ep-new.tar.zst'));
    const disk = await client.waitFor((m) => m.type === 'host_disk' && m.host_id === host);
    expect(disk).toMatchObject({ files: before + 1 });
    expect((await getJson<DashboardState>(server, '/api/state')).body.host_counts[host]).toBe(before + 1);

    const healthFile = path.join(root, 'health', `${summary.hosts[1]}.json`);
    fs.writeFileSync(healthFile, JSON.stringify({ host_id: summary.hosts[1], disk_free_bytes: 42 }));
    const health = await client.waitFor(
      (m) => m.type === 'health' && m.health !== null && m.health.data.disk_free_bytes === 42,
    );
    expect(health).toMatchObject({ host_id: summary.hosts[1] });
    fs.rmSync(healthFile);
    await client.waitFor((m) => m.type === 'health' && m.host_id === summary.hosts[1] && m.health === null);
  });

  it('answers bad input with a 4xx JSON error that says what is wrong', async () => {
    const { root } = await generated(2, 3);
    const tokenFile = path.join(tempDir(), 'phase-token');
    fs.writeFileSync(tokenFile, 'sekrit-token-123\n');
    const server = await testServer({ dataRoot: root, phaseTokenFile: tokenFile });
    await server.pipeline.whenReady();

    const bad = await getJson<{ error: { code: string; message: string } }>(server, '/api/alerts?limit=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/limit/);
    expect((await getJson(server, '/api/alerts?hots=x')).status).toBe(400);
    expect((await getJson(server, '/api/nope')).status).toBe(404);

    const post = (body: unknown, token?: string) =>
      fetch(`${server.url}/api/phase`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    expect((await post({ host_id: 'h', phase: 'boot' })).status).toBe(401);
    expect((await post({ host_id: 'h', phase: 'boot' }, 'wrong-token-000')).status).toBe(401);
    const missing = await post({ host_id: 'h' }, 'sekrit-token-123');
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/phase/);

    const client = TestClient.connect(server);
    await client.waitFor(isHello);
    const ok = await post({ host_id: 'host-02', phase: 'infecting', episode_id: 'e1' }, 'sekrit-token-123');
    expect(ok.status).toBe(202);
    const phase = await client.waitFor((m) => m.type === 'phase');
    expect(phase).toMatchObject({ host_id: 'host-02', phase: 'infecting', episode_id: 'e1' });
    const { body } = await getJson<DashboardState>(server, '/api/state');
    expect(body.live_phases['host-02']?.phase).toBe('infecting');

    await server.pipeline.whenCatalogCaughtUp();
    const alerts = await getJson<{ items: unknown[]; total: number }>(server, '/api/alerts?limit=2');
    expect(alerts.body.items).toHaveLength(2);
    expect(alerts.body.total).toBe(3);
  });

  it('exposes Prometheus metrics with lag, skips and clients', async () => {
    const { root } = await generated(2, 1);
    const index = path.join(root, 'index.jsonl');
    const firstLine = fs.readFileSync(index, 'utf8').split('\n')[0] as string;
    // A repeated id, garbage and a non-object in the first pass: counted once, skipped, reported.
    fs.appendFileSync(index, `not json\nnull\n${firstLine}\n`);
    const server = await testServer({ dataRoot: root });
    await server.pipeline.whenReady();
    expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(2);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(
      /cis490_dashboard_input_lines_skipped_total\{source="index",reason="malformed_json"\} 1/,
    );
    expect(text).toMatch(
      /cis490_dashboard_input_lines_skipped_total\{source="index",reason="not_object"\} 1/,
    );
    expect(text).toMatch(/cis490_dashboard_input_bytes_read\{source="index"\} \d+/);
    expect(text).toMatch(/cis490_dashboard_ws_clients 0/);
    expect(text).toMatch(/cis490_dashboard_input_duplicate_ids_total 1/);
    expect(text).toMatch(/cis490_dashboard_ready 1/);
    expect(text).not.toMatch(/ep-\d/);
  });
});
