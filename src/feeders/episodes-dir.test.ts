import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { HostDisk } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { EpisodesDirFeeder } from './episodes-dir.js';
import { HealthDirFeeder } from './health-dir.js';

describe('EpisodesDirFeeder', () => {
  it('counts every tarball of a burst of arrivals, and only tarballs', async () => {
    const root = tempDir();
    const dir = path.join(root, 'episodes', 'h1');
    fs.mkdirSync(dir, { recursive: true });
    const seen = new Map<string, HostDisk>();
    const feeder = new EpisodesDirFeeder({
      dataRoot: root,
      logger: silentLogger(),
      rescanIntervalMs: 3_600_000,
      onHostChange: (host, disk) => seen.set(host, disk),
    });
    await feeder.start();
    onTestFinished(() => feeder.stop());
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync(path.join(dir, `ep-${i}.tar.zst.tmp`), Buffer.alloc(100 + i));
      fs.renameSync(path.join(dir, `ep-${i}.tar.zst.tmp`), path.join(dir, `ep-${i}.tar.zst`));
      fs.writeFileSync(path.join(dir, `ep-${i}.sha256`), 'x');
    }
    const bytes = Array.from({ length: 50 }, (_, i) => 100 + i).reduce((a, b) => a + b, 0);
    await vi.waitFor(() => expect(seen.get('h1')).toEqual({ files: 50, bytes }), { timeout: 10_000 });
    fs.rmSync(path.join(dir, 'ep-0.tar.zst'));
    await vi.waitFor(() => expect(seen.get('h1')).toEqual({ files: 49, bytes: bytes - 100 }), {
      timeout: 10_000,
    });
  });
});

describe('EpisodesDirFeeder and HealthDirFeeder on a late folder', () => {
  it('notice episodes/ and health/ that appear after start without waiting for a rescan', async () => {
    const root = tempDir();
    const seen = new Map<string, HostDisk>();
    const healthSeen: string[] = [];
    const episodes = new EpisodesDirFeeder({
      dataRoot: root,
      logger: silentLogger(),
      rescanIntervalMs: 3_600_000,
      onHostChange: (host, disk) => seen.set(host, disk),
    });
    const health = new HealthDirFeeder({
      dataRoot: root,
      logger: silentLogger(),
      rescanIntervalMs: 3_600_000,
      onHealth: (host) => healthSeen.push(host),
    });
    await episodes.start();
    await health.start();
    onTestFinished(() => {
      episodes.stop();
      health.stop();
    });
    const dir = path.join(root, 'episodes', 'h9');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'e.tar.zst'), Buffer.alloc(7));
    fs.mkdirSync(path.join(root, 'health'));
    fs.writeFileSync(path.join(root, 'health', 'h9.json'), '{"disk_free_bytes":1}');
    await vi.waitFor(() => expect(seen.get('h9')).toEqual({ files: 1, bytes: 7 }), { timeout: 10_000 });
    await vi.waitFor(() => expect(healthSeen).toContain('h9'), { timeout: 10_000 });
  });
});
