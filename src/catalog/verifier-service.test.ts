import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { indexLineFor, oneEpisodeRoot, waitForIntegrity } from '../../test/support/episode-root.js';
import { getJson, testServer, waitReady } from '../../test/support/server.js';
import type { HostsResponse } from '../protocol/api.js';
import type { DashboardState } from '../protocol/index.js';

describe('the integrity verifier', () => {
  it('learns of a removed tarball within --rescan-interval (the feeder rescans; the fed thread follows): it turns missing', async () => {
    const { root, dir } = oneEpisodeRoot('cis490-verifier-rescan-');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.5 });
    await waitReady(server);
    await waitForIntegrity(server, { ok: 1 });
    fs.rmSync(path.join(dir, 'e1.tar.zst'));
    // The default interval is 60 s: well past this wait, so only a verifier honouring the flag passes.
    await waitForIntegrity(server, { missing: 1 });
  });
  it('finds a tarball rewritten in place (same name, same size) corrupt, without a full listing of its own', async () => {
    const { root, dir, data } = oneEpisodeRoot('cis490-verifier-inplace-');
    const server = await testServer({ dataRoot: root, rescanInterval: 0.5 });
    await waitReady(server);
    await waitForIntegrity(server, { ok: 1 });
    const damaged = Buffer.from(data);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff;
    const file = path.join(dir, 'e1.tar.zst');
    fs.writeFileSync(file, damaged);
    // Another mtime, whatever the clock's granularity: the size alone does not change.
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await waitForIntegrity(server, { corrupt: 1 });
  });
  it('follows the host-folder feeder between full listings: new files unindexed, a removed one missing', async () => {
    const { root, dir, data } = oneEpisodeRoot('cis490-verifier-fed-');
    // No full listing within the test: what the thread learns comes from the feeder's changes.
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 });
    await waitReady(server);
    await waitForIntegrity(server, { ok: 1 });
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `late-${i}.tar.zst`), data);
    await waitForIntegrity(server, { ok: 1, unindexed: 3 });
    fs.rmSync(path.join(dir, 'e1.tar.zst'));
    fs.rmSync(path.join(dir, 'late-0.tar.zst'));
    await waitForIntegrity(server, { missing: 1, unindexed: 2 });
  });
  it('ends its thread when it has nothing to do and starts one again for a new file, a new index line, a removed file', async () => {
    const { root, dir, data } = oneEpisodeRoot('cis490-verifier-idle-end-');
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 }, { verifierIdleEndMs: 300 });
    const verifier = server.services.verifier;
    if (!verifier) throw new Error('no verifier');
    // Resolves with the threads started so far once none runs, and more than `after` were.
    const ended = (after: number) =>
      vi.waitFor(
        () => {
          const stats = verifier.stats();
          expect(stats.running).toBe(false);
          expect(stats.thread_starts_total).toBeGreaterThan(after);
          return stats.thread_starts_total;
        },
        { timeout: 20_000, interval: 50 },
      );
    await waitReady(server);
    await waitForIntegrity(server, { ok: 1 });
    let starts = await ended(0);
    // A new file, seen by the feeder: a thread starts, lists it unindexed.
    fs.writeFileSync(path.join(dir, 'late.tar.zst'), data);
    await waitForIntegrity(server, { ok: 1, unindexed: 1 });
    starts = await ended(starts);
    // Its index line: the committed row starts a thread, which hashes the file.
    fs.appendFileSync(path.join(root, 'index.jsonl'), indexLineFor('late', data, '2026-11-01T12:05:00Z'));
    await waitForIntegrity(server, { ok: 2 });
    starts = await ended(starts);
    fs.rmSync(path.join(dir, 'e1.tar.zst'));
    await waitForIntegrity(server, { ok: 1, missing: 1 });
    await ended(starts);
  }, 90_000); // four thread ends and starts in a row: 15.6 s on a loaded CI box

  describe('corrupt episodes on the wall, without waiting for the next snapshot', () => {
    type Server = Parameters<typeof getJson>[0];
    /** Waits until the live state (what the wall draws: `/api/state`) counts `n` corrupt episodes of host h1. */
    const waitForLiveCorrupt = (server: Server, n: number) =>
      vi.waitFor(
        async () =>
          expect(
            (await getJson<DashboardState>(server, '/api/state')).body.integrity?.hosts.h1?.corrupt ?? 0,
          ).toBe(n),
        { timeout: 20_000, interval: 50 },
      );
    const reasons = async (server: Server) =>
      (await getJson<HostsResponse>(server, '/api/hosts')).body.hosts
        .find((h) => h.host_id === 'h1')
        ?.status_reasons.map((r) => r.text);

    it('a tarball damaged before a cold start, then mended: its host says so within seconds, either way', async () => {
      const { root, dir, data } = oneEpisodeRoot('cis490-verifier-live-');
      const file = path.join(dir, 'e1.tar.zst');
      const damaged = Buffer.from(data);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff;
      fs.writeFileSync(file, damaged);
      // Snapshots an hour apart: the snapshot at ready, before the verifier hashed anything, would stand.
      const server = await testServer({ dataRoot: root, rescanInterval: 0.5, snapshotInterval: 3600 });
      await waitReady(server);
      await waitForLiveCorrupt(server, 1);
      expect(await reasons(server)).toContain('1 corrupt episode');
      fs.writeFileSync(file, data);
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      await waitForLiveCorrupt(server, 0);
      expect(await reasons(server)).not.toContain('1 corrupt episode');
    });
  });
});
