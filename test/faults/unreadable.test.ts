/**
 * Files the server may not read. An indexed episode file (a permission, as a lab's NFS export or a
 * receiver's umask gives): the integrity verifier says so once — a log line and
 * `verifier_unreadable_files_total` — keeps it `unverified`, and hashes it once it can be read.
 * Permissions do not bind root, so the server runs as `nobody` (the suite runs as root in CI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, vi } from 'vitest';
import type { EpisodeDetail } from '../../src/protocol/api.js';
import { scrapeMetrics } from '../support/metrics.js';
import { itAsNobody, NOBODY, rootForNobody } from '../support/nobody.js';
import { startChildServer } from './child-server.js';

/** `vi.waitFor` here: every 100 ms, for up to 30 s (a listing or a hash takes its poll interval). */
const POLL = { timeout: 30_000, interval: 100 };

describe('fault: an indexed episode file the server may not read', () => {
  itAsNobody(
    'is told once, stays unverified, and is hashed once readable',
    async () => {
      const { root, stateDir, tarball } = await rootForNobody(3);
      const id = path.basename(tarball).replace(/\.tar\.zst$/, '');
      fs.chmodSync(tarball, 0o600); // root's own: nobody cannot open it

      const server = await startChildServer({
        dataRoot: root,
        stateDir,
        uid: NOBODY,
      });
      const status = async () => {
        const res = await fetch(`${server.url}/api/episodes/${id}`);
        return res.status === 200 ? ((await res.json()) as EpisodeDetail).episode.status : undefined;
      };
      // The other two hashed, this one told.
      await vi.waitFor(async () => {
        const m = await scrapeMetrics(server.url);
        expect(m('verifier_files_hashed_total')).toBeGreaterThanOrEqual(2);
        expect(m('verifier_unreadable_files_total')).toBe(1);
      }, POLL);
      expect(await status()).toBe('unverified');
      // Walked again and again (poll interval 0.1 s) while unreadable: told once.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await scrapeMetrics(server.url))('verifier_unreadable_files_total')).toBe(1);
      expect(server.stderr().split('episode file unreadable').length - 1).toBe(1);

      fs.chmodSync(tarball, 0o644);
      await vi.waitFor(async () => expect(await status()).toBe('ok'), POLL);
      expect((await scrapeMetrics(server.url))('verifier_unreadable_files_total')).toBe(1);
      server.child.kill('SIGTERM');
      await server.exited;
    },
    60_000,
  );

  itAsNobody(
    'says why it is not ready when index.jsonl may not be read, and starts once it may',
    async () => {
      const { root, stateDir } = await rootForNobody(2);
      const index = path.join(root, 'index.jsonl');
      fs.chmodSync(index, 0o600); // root's own: nobody cannot open it
      const server = await startChildServer({ dataRoot: root, stateDir, uid: NOBODY });
      const readyz = async () => {
        const res = await fetch(`${server.url}/readyz`);
        return {
          status: res.status,
          body: (await res.json()) as { reason?: { code: string; message: string } },
        };
      };
      const notReady = await vi.waitFor(async () => {
        const r = await readyz();
        expect(r.body.reason?.code).toBe('input_unreadable');
        return r;
      }, POLL);
      expect(notReady.status).toBe(503);
      expect(notReady.body.reason?.message).toMatch(/cannot read .*index\.jsonl/);
      fs.chmodSync(index, 0o644);
      await vi.waitFor(async () => expect((await readyz()).status).toBe(200), POLL);
      server.child.kill('SIGTERM');
      await server.exited;
    },
    60_000,
  );

  itAsNobody(
    'says once that a host folder cannot be listed, and counts it again once it can',
    async () => {
      const { root, stateDir, tarball } = await rootForNobody(2);
      const hostDir = path.dirname(tarball);
      fs.chmodSync(hostDir, 0o700); // root's own: nobody cannot list it
      const server = await startChildServer({
        dataRoot: root,
        stateDir,
        uid: NOBODY,
        extra: ['--rescan-interval', '0.5'],
      });
      const files = async () => {
        const res = await fetch(`${server.url}/api/state`);
        return ((await res.json()) as { host_counts: Record<string, number> }).host_counts['host-01'] ?? 0;
      };
      await vi.waitFor(() => expect(server.stderr()).toMatch(/host folder could not be listed/), POLL);
      expect(await files()).toBe(0);
      // Rescanned every 0.5 s meanwhile: said once.
      await new Promise((r) => setTimeout(r, 1500));
      expect(server.stderr().split('host folder could not be listed').length - 1).toBe(1);
      const m = await scrapeMetrics(server.url);
      expect(m('episodes_dir_errors_total')).toBeGreaterThanOrEqual(1);
      fs.chmodSync(hostDir, 0o755);
      await vi.waitFor(async () => expect(await files()).toBe(2), POLL);
      server.child.kill('SIGTERM');
      await server.exited;
    },
    60_000,
  );
});
