/**
 * Fault case 3: the file system under the server changes shape. The data root is missing at start
 * and appears later; a host's episode folder is removed and recreated; files become unreadable
 * (a FIFO swapped in under their name — tests run as root, which ignores chmod 000, so the FIFO is
 * the portable way; chmod 000 is added when not root); files are replaced by directories.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { DashboardState, PhaseMix } from '../../src/protocol/index.js';
import { getJson, testServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { IdRecorder, indexLine, mib, peakRss, RSS_BOUND_BYTES, report } from './support.js';
import { buildEpisodeFixture } from './tarballs.js';

const isRoot = process.getuid?.() === 0;
const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

async function state(server: { url: string }): Promise<DashboardState> {
  const res = await getJson<DashboardState>(server, '/api/state');
  expect(res.status).toBe(200);
  return res.body;
}

function writeTarball(root: string, host: string, name: string): void {
  fs.mkdirSync(path.join(root, 'episodes', host), { recursive: true });
  fs.writeFileSync(path.join(root, 'episodes', host, name), buildEpisodeFixture({ labels: 3 }));
}

describe('fault: the file system changes under the server', () => {
  it('picks up a data root that appears after start', async () => {
    const root = path.join(tempDir('cis490-fault-fs-'), 'not-yet');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.2 });
    await server.pipeline.whenReady();
    expect((await state(server)).total_episodes).toBe(0);
    const client = IdRecorder.to(server);
    await client.opened();

    fs.mkdirSync(path.join(root, 'health'), { recursive: true });
    writeTarball(root, 'host-01', 'ep-1.tar.zst');
    fs.writeFileSync(path.join(root, 'health', 'host-01.json'), '{"ok":true}');
    fs.writeFileSync(path.join(root, 'index.jsonl'), indexLine('ep-1') + indexLine('ep-2'));
    fs.writeFileSync(path.join(root, 'alerts.jsonl'), '{"host":"host-01","symptom":"disk"}\n');

    await client.until(() => client.seen.size === 2, 'both ids');
    await vi.waitFor(
      async () => {
        const s = await state(server);
        expect(s.total_alerts).toBe(1);
        expect(s.host_counts).toEqual({ 'host-01': 1 });
        expect(Object.keys(s.health)).toEqual(['host-01']);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect((await state(server)).total_episodes).toBe(2);
    client.close();
  });

  it('follows episodes/<host> removed and recreated', async () => {
    const root = tempDir('cis490-fault-fs-');
    writeTarball(root, 'host-01', 'a.tar.zst');
    writeTarball(root, 'host-01', 'b.tar.zst');
    writeTarball(root, 'host-02', 'c.tar.zst');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.2 });
    await server.pipeline.whenReady();
    expect((await state(server)).host_counts).toEqual({ 'host-01': 2, 'host-02': 1 });

    fs.rmSync(path.join(root, 'episodes', 'host-01'), { recursive: true });
    await vi.waitFor(async () => expect((await state(server)).host_counts).toEqual({ 'host-02': 1 }), {
      timeout: 10_000,
      interval: 50,
    });
    writeTarball(root, 'host-01', 'd.tar.zst');
    writeTarball(root, 'host-01', 'e.tar.zst');
    writeTarball(root, 'host-01', 'f.tar.zst');
    await vi.waitFor(
      async () => expect((await state(server)).host_counts).toEqual({ 'host-01': 3, 'host-02': 1 }),
      { timeout: 10_000, interval: 50 },
    );
  });

  it('survives unreadable files: the index, a health file and a tarball swapped for FIFOs', async () => {
    const root = tempDir('cis490-fault-fs-');
    const index = path.join(root, 'index.jsonl');
    fs.writeFileSync(index, indexLine('ep-1') + indexLine('ep-2'));
    writeTarball(root, 'host-01', 'ep-1.tar.zst');
    writeTarball(root, 'host-01', 'ep-2.tar.zst');
    fs.mkdirSync(path.join(root, 'health'));
    fs.writeFileSync(path.join(root, 'health', 'host-01.json'), '{"ok":true}');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.2, phaseInterval: 3600 });
    await server.pipeline.whenReady();
    const first = await vi.waitFor(
      async () => {
        const mix = await getJson<PhaseMix | null>(server, '/api/phase-mix');
        expect(mix.body?.population_episodes).toBe(2);
        return mix.body as PhaseMix;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(first.sampled_episodes).toBe(2);
    const client = IdRecorder.to(server);
    await client.opened();

    // The index moves away (a rotation) and a FIFO takes its name; a tarball and a health file
    // become FIFOs too. A blocking open of any of them would hang the server.
    fs.renameSync(index, `${index}.1`);
    mkfifo(index);
    const tar = path.join(root, 'episodes', 'host-01', 'ep-2.tar.zst');
    fs.rmSync(tar);
    mkfifo(tar);
    fs.rmSync(path.join(root, 'health', 'host-01.json'));
    mkfifo(path.join(root, 'health', 'host-01.json'));
    if (!isRoot) fs.chmodSync(path.join(root, 'episodes', 'host-01', 'ep-1.tar.zst'), 0);
    // A new tarball makes the phase mix look again (it re-lists, then reads the new one).
    writeTarball(root, 'host-01', 'ep-3.tar.zst');

    await vi.waitFor(
      async () => {
        const mix = await getJson<PhaseMix | null>(server, '/api/phase-mix');
        expect(mix.body?.computed_at).not.toBe(first.computed_at);
      },
      { timeout: 15_000, interval: 100 },
    );
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    expect(server.pipeline.stats().health.skipped).toBeGreaterThanOrEqual(1);

    // The FIFO goes and a regular index comes back: its lines count, the old ones still once.
    fs.rmSync(index);
    fs.writeFileSync(index, indexLine('ep-3'));
    await client.until(() => client.seen.has('ep-3'), 'ep-3 from the new index');
    expect((await state(server)).total_episodes).toBe(3);
    expect(client.repeated()).toEqual([]);
    client.close();
  });

  it('survives files replaced by directories and reads them once they are files again', async () => {
    const root = tempDir('cis490-fault-fs-');
    const index = path.join(root, 'index.jsonl');
    const alerts = path.join(root, 'alerts.jsonl');
    fs.writeFileSync(index, indexLine('ep-1'));
    fs.writeFileSync(alerts, '{"host":"host-01"}\n');
    writeTarball(root, 'host-01', 'ep-1.tar.zst');
    fs.mkdirSync(path.join(root, 'health'));
    fs.writeFileSync(path.join(root, 'health', 'host-01.json'), '{"ok":true}');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.2 });
    await server.pipeline.whenReady();
    const client = IdRecorder.to(server);
    await client.opened();

    for (const p of [index, alerts, path.join(root, 'health', 'host-01.json')]) {
      fs.rmSync(p);
      fs.mkdirSync(p);
    }
    const tar = path.join(root, 'episodes', 'host-01', 'ep-1.tar.zst');
    fs.rmSync(tar);
    fs.mkdirSync(tar);
    await vi.waitFor(
      async () => {
        const s = await state(server);
        expect(s.host_counts).toEqual({});
        expect(s.health).toEqual({});
      },
      { timeout: 10_000, interval: 50 },
    );
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);

    for (const p of [index, alerts]) fs.rmSync(p, { recursive: true });
    fs.writeFileSync(index, indexLine('ep-2'));
    fs.writeFileSync(alerts, '{"host":"host-02"}\n');
    await client.until(() => client.seen.has('ep-2'), 'ep-2 from the index file that came back');
    await vi.waitFor(async () => expect((await state(server)).total_alerts).toBe(2), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await state(server)).total_episodes).toBe(2);
    client.close();
    const peak = peakRss();
    report('filesystem', { root_user: isRoot, peak_rss: mib(peak) });
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  });
});
