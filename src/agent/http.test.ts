/**
 * The agent's HTTP (what replicas proxy to): the single box's detail and download routes over
 * the agent's own data root, its read token and path rules, /livez and /readyz.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import { ReadAuth } from '../http/auth.js';
import type { EpisodeDetail } from '../protocol/api.js';
import { silentLogger } from '../util/log.js';
import { AgentEpisodeLookup, buildAgentApp } from './http.js';
import { AgentMetrics } from './metrics.js';

async function agentApp(o: { token?: string; ready?: boolean; metrics?: AgentMetrics } = {}) {
  const root = path.join(tempDir('cis490-agent-http-'), 'data');
  await generateDataRoot({
    out: root,
    hosts: 2,
    episodes: 4,
    indexLines: 4,
    alerts: 0,
    telemetryKb: 2,
    seed: 3,
  });
  const lookup = new AgentEpisodeLookup(root);
  const app = await buildAgentApp({
    dataRoot: root,
    logger: silentLogger(),
    readAuth: o.token ? new ReadAuth(o.token) : null,
    lookup,
    ready: () => o.ready ?? true,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const host = fs.readdirSync(path.join(root, 'episodes')).sort()[0] as string;
  const file = fs
    .readdirSync(path.join(root, 'episodes', host))
    .find((f) => f.endsWith('.tar.zst')) as string;
  return { app, root, host, id: file.replace(/\.tar\.zst$/, ''), lookup };
}

describe('agent HTTP', () => {
  test('detail and download of an episode of its data root; unknown ids and ids that leave a host folder are 404', async () => {
    const { app, root, host, id } = await agentApp();
    const detail = await app.inject({ url: `/api/episodes/${encodeURIComponent(id)}` });
    expect(detail.statusCode).toBe(200);
    const body = detail.json<EpisodeDetail>();
    expect(body.episode).toMatchObject({ episode_id: id, host_id: host });
    expect(body.labels.length).toBeGreaterThan(0);
    expect(body.members.some((m) => m.name.endsWith('labels.jsonl'))).toBe(true);
    expect(body.download_url).toBe(`/api/episodes/${encodeURIComponent(id)}/download`);

    const download = await app.inject({ url: body.download_url ?? '' });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('application/zstd');
    expect(
      download.rawPayload.equals(fs.readFileSync(path.join(root, 'episodes', host, `${id}.tar.zst`))),
    ).toBe(true);

    for (const bad of ['nope', '..%2F..%2Fetc%2Fpasswd', '.hidden']) {
      const r = await app.inject({ url: `/api/episodes/${bad}` });
      expect(r.statusCode, bad).toBe(404);
      expect(r.json()).toMatchObject({ error: { code: 'not_found' } });
      expect((await app.inject({ url: `/api/episodes/${bad}/download` })).statusCode).toBe(404);
    }
    await app.close();
  });

  test('a tarball symlinked from outside episodes/ is not served', async () => {
    const { app, root, host } = await agentApp();
    const outside = path.join(root, 'secret.tar.zst');
    fs.writeFileSync(outside, 'not for you');
    fs.symlinkSync(outside, path.join(root, 'episodes', host, 'linked.tar.zst'));
    expect((await app.inject({ url: '/api/episodes/linked/download' })).statusCode).toBe(404);
    // A symlink is no episode file (the rule of every walker of episodes/): not found at all.
    expect((await app.inject({ url: '/api/episodes/linked' })).statusCode).toBe(404);
    await app.close();
  });

  test('an unindexed tarball is found by the one rule of episode files: not in a dot folder, not a symlink', async () => {
    const { app, root, host, id } = await agentApp();
    const source = path.join(root, 'episodes', host, `${id}.tar.zst`);
    fs.mkdirSync(path.join(root, 'episodes', '.partial'));
    fs.copyFileSync(source, path.join(root, 'episodes', '.partial', 'in-dot-folder.tar.zst'));
    fs.symlinkSync(source, path.join(root, 'episodes', host, 'inside-link.tar.zst'));
    fs.copyFileSync(source, path.join(root, 'episodes', host, 'unindexed.tar.zst'));
    expect((await app.inject({ url: '/api/episodes/in-dot-folder' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/episodes/inside-link' })).statusCode).toBe(404);
    const found = await app.inject({ url: '/api/episodes/unindexed' });
    expect(found.statusCode).toBe(200);
    expect(found.json<EpisodeDetail>().episode).toMatchObject({ episode_id: 'unindexed', host_id: host });
    await app.close();
  });

  test('with a read token every route but /livez and /readyz requires it; /readyz says starting until the first pass is appended', async () => {
    const token = 'agent-token-123456';
    const { app, id } = await agentApp({ token, ready: false });
    expect((await app.inject({ url: `/api/episodes/${id}` })).statusCode).toBe(401);
    const authorized = await app.inject({
      url: `/api/episodes/${id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(authorized.statusCode).toBe(200);
    expect((await app.inject({ url: '/livez' })).json()).toEqual({ status: 'ok' });
    const readyz = await app.inject({ url: '/readyz' });
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toMatchObject({ ready: false, reason: { code: 'starting' } });
    await app.close();
  });

  test('/metrics: its readers and its appends to the stream, as promtool accepts them; behind the read token', async () => {
    const token = 'agent-token-123456';
    const source = (name: string, lines: number) => ({
      source: name,
      lines,
      accepted: lines,
      duplicates: 0,
      skipped: { malformed_json: 1 },
      bytes_read: lines * 100,
      file_size: lines * 100 + 7,
      rotations: {},
      lost_bytes: 0,
      checkpoints_lost: 0,
      compressed_skipped: 0,
      invalid_utf8_lines: 0,
      batches: 3,
      bytes: lines * 100,
      caught_up: true,
      input_error: null,
    });
    const stats = {
      batches_appended: 4,
      batches_skipped: 1,
      events_appended: 120,
      overlaps: 0,
      resends: 2,
      last_seq: 345,
      index: source('index', 100),
      alerts: source('alerts', 20),
    };
    const metrics = new AgentMetrics(() => ({ run: { stats: () => stats }, ready: true }));
    const { app } = await agentApp({ token, metrics });
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const r = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(200);
    const text = r.body;
    for (const line of [
      'cis490_dashboard_agent_batches_total{status="appended"} 4',
      'cis490_dashboard_agent_batches_total{status="skipped"} 1',
      'cis490_dashboard_agent_events_appended_total 120',
      'cis490_dashboard_agent_resends_total 2',
      'cis490_dashboard_agent_last_seq 345',
      'cis490_dashboard_agent_ready 1',
      'cis490_dashboard_input_lines_total{source="index"} 100',
      'cis490_dashboard_input_batches_total{source="index"} 3',
      'cis490_dashboard_input_bytes_total{source="alerts"} 2000',
      'cis490_dashboard_input_file_size_bytes{source="alerts"} 2007',
      'cis490_dashboard_input_lines_skipped_total{source="index",reason="malformed_json"} 1',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toContain('process_resident_memory_bytes');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    await app.close();
  });
});
