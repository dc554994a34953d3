/**
 * The health folder's reader on real files: a heartbeat caught half written (a receiver that
 * rewrites the file in place) keeps the host's last good health; a deletion clears it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import type { HostHealth } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { HealthDirFeeder } from './health-dir.js';

describe('HealthDirFeeder', () => {
  it('keeps the last good heartbeat while the file is half written, and clears it when the file goes', async () => {
    const root = tempDir('cis490-health-');
    const dir = path.join(root, 'health');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'host-03.json');
    const good = JSON.stringify({
      host_id: 'host-03',
      last_heartbeat_wall: '2026-12-07T10:00:00Z',
      disk_free_bytes: 5,
    });
    fs.writeFileSync(file, good);
    const seen: Array<HostHealth | null> = [];
    const feeder = new HealthDirFeeder({
      dataRoot: root,
      logger: silentLogger(),
      rescanIntervalMs: 50,
      onHealth: (_host, health) => seen.push(health),
    });
    await feeder.start();
    try {
      await vi.waitFor(() => expect(seen.at(-1)?.data.disk_free_bytes).toBe(5), { timeout: 10_000 });
      // Caught mid-write: 30 bytes of the next heartbeat.
      fs.writeFileSync(file, good.slice(0, 30));
      await vi.waitFor(() => expect(feeder.stats().skipped).toBe(1), { timeout: 10_000 });
      expect(seen.filter((h) => h === null)).toEqual([]);
      // The write completes.
      fs.writeFileSync(file, good.replace('"disk_free_bytes":5', '"disk_free_bytes":6'));
      await vi.waitFor(() => expect(seen.at(-1)?.data.disk_free_bytes).toBe(6), { timeout: 10_000 });
      expect(seen).not.toContain(null);
      // Gone: cleared.
      fs.rmSync(file);
      await vi.waitFor(() => expect(seen.at(-1)).toBeNull(), { timeout: 10_000 });
    } finally {
      feeder.stop();
    }
  });
});
