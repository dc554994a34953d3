import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { TestClient, testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import type { RunningServer } from '../server.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const RULES = path.join(repo, 'deploy/prometheus/cis490-dashboard.rules.yml');
const GRAFANA = path.join(repo, 'deploy/grafana/cis490-dashboard.json');

/** A server on a generated root that has done some of everything the histograms time. */
async function busyServer(): Promise<RunningServer> {
  const root = path.join(tempDir('cis490-prom-'), 'root');
  await generateDataRoot({ out: root, hosts: 2, episodes: 4, alerts: 3, telemetryKb: 4, seed: 3 });
  fs.appendFileSync(path.join(root, 'index.jsonl'), 'not json\n');
  const server = await testServer({ dataRoot: root, phaseInterval: 3600 });
  await server.pipeline.whenReady();
  await server.pipeline.whenCatalogCaughtUp();
  // A live client, then an appended line: one event goes from the bus to a socket.
  const client = TestClient.connect(server);
  await client.waitFor((m) => m.type === 'hello');
  const line = fs.readFileSync(path.join(root, 'index.jsonl'), 'utf8').split('\n')[0] ?? '';
  const record = JSON.parse(line) as Record<string, unknown>;
  fs.appendFileSync(
    path.join(root, 'index.jsonl'),
    `${JSON.stringify({ ...record, episode_id: 'ep-live-metrics' })}\n`,
  );
  await client.waitFor((m) => m.type === 'episode' && m.episode_id === 'ep-live-metrics');
  await vi.waitFor(() => expect(server.hub.stats().messages_sent_total).toBeGreaterThan(1));
  await fetch(`${server.url}/api/state`);
  await fetch(`${server.url}/api/nope`);
  await vi.waitFor(() => expect(server.pipeline.stats().catalog?.committed_lines.index).toBeGreaterThan(4), {
    timeout: 20_000,
  });
  return server;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A real `prometheus` on a free loopback port with its own temp dir, scraping `target` every second. */
async function startPrometheus(target: URL): Promise<string> {
  const dir = tempDir('cis490-prometheus-');
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      `rule_files: [${JSON.stringify(RULES)}]`,
      'scrape_configs:',
      '  - job_name: cis490-dashboard',
      `    static_configs: [{targets: [${JSON.stringify(target.host)}]}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += String(d);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  onTestFinished(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await vi.waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      expect((await fetch(`${base}/-/ready`)).status).toBe(200);
    },
    { timeout: 20_000, interval: 100 },
  );
  return base;
}

interface QueryResult {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function query(base: string, expr: string): Promise<QueryResult> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as QueryResult;
}

interface GrafanaPanel {
  title: string;
  targets: Array<{ expr: string }>;
}

describe('Prometheus', () => {
  it('passes promtool check metrics on a live scrape, with default process metrics and the histograms', async () => {
    const server = await busyServer();
    // The verifier starts once the catalog has caught up, and classifies the generated rows (the
    // live line too, unless the catalog writer classified it at insert: catalog/insert-classifier.ts).
    await vi.waitFor(() => expect(server.services.verifier?.stats().rows_synced_total).toBeGreaterThan(3), {
      timeout: 20_000,
    });
    // An explorer read: the explorer thread starts for it.
    expect((await fetch(`${server.url}/api/episodes/facets`)).status).toBe(200);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'cis490_dashboard_ws_send_latency_seconds_count',
      'cis490_dashboard_http_request_duration_seconds_count{method="GET",route="/api/state",status_code="200"}',
      'cis490_dashboard_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}',
      'cis490_dashboard_catalog_commit_duration_seconds_count{source="index"}',
      'cis490_dashboard_phase_mix_refresh_duration_seconds_count',
      'cis490_dashboard_input_lines_total{source="index"}',
      'cis490_dashboard_host_last_received_timestamp_seconds{host="host-01"}',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(text).toMatch(/^cis490_dashboard_ws_send_latency_seconds_count [1-9]/m);
    // The integrity verifier's own counters: its thread, and the rows it classified.
    expect(text).toMatch(/^cis490_dashboard_verifier_thread_starts_total [1-9]/m);
    expect(text).toMatch(/^cis490_dashboard_verifier_rows_synced_total ([4-9]|\d{2,})$/m);
    expect(text).toMatch(/^cis490_dashboard_verifier_running [01]$/m);
    expect(text).toMatch(/^cis490_dashboard_explorer_thread_running 1$/m);
    expect(text).toMatch(/^cis490_dashboard_explorer_thread_starts_total 1$/m);
    expect(text).toMatch(/^cis490_dashboard_explorer_reads_total [1-9]/m);
    expect(text).toMatch(/^cis490_dashboard_explorer_read_errors_total 0$/m);
    expect(text).toMatch(
      /^cis490_dashboard_input_lines_skipped_total\{source="index",reason="malformed_json"\} 1$/m,
    );
    expect(text).not.toMatch(/ep-live-metrics/);
  });

  it('passes promtool check rules on deploy/prometheus/', () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
  });

  it("is scraped by a real prometheus, which answers every Grafana panel's query", async () => {
    const server = await busyServer();
    const prom = await startPrometheus(new URL(server.url));
    // Three scrapes in the window: rate() over [5m] has points to work with.
    await vi.waitFor(
      async () => {
        const r = await query(prom, 'count_over_time(cis490_dashboard_episodes{job="cis490-dashboard"}[5m])');
        expect(Number(r.data.result[0]?.value[1] ?? 0)).toBeGreaterThanOrEqual(3);
      },
      { timeout: 30_000, interval: 200 },
    );
    const episodes = await query(prom, 'cis490_dashboard_episodes{job="cis490-dashboard"}');
    expect(Number(episodes.data.result[0]?.value[1])).toBe(server.pipeline.bus.state.total_episodes);
    expect(server.pipeline.bus.state.total_episodes).toBe(5);

    const dashboard = JSON.parse(fs.readFileSync(GRAFANA, 'utf8')) as { panels: GrafanaPanel[] };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(8);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        const r = await query(prom, expr);
        expect(r.error, `${panel.title}: ${expr}`).toBeUndefined();
        expect(r.status).toBe('success');
        expect(r.data.result.length, `${panel.title}: ${expr} returned nothing`).toBeGreaterThan(0);
      }
    }
    // The rules loaded and evaluate (none fires on a healthy server).
    const rules = (await (await fetch(`${prom}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name)).toContain('Cis490TailStalled');
  });
});
