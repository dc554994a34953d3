import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, vi } from 'vitest';
import type { PhaseMixService } from '../../src/phasemix/service.js';
import type { EpisodeFacets } from '../../src/protocol/api.js';
import type { PhaseMix } from '../../src/protocol/index.js';
import type { RunningServer } from '../../src/server.js';
import { episodeTarball } from './phasemix.js';
import { getJson } from './server.js';
import { tempDir } from './tmp.js';

/** Writes `bytes` at `rel` under `root`, making its folders. */
export function addFile(root: string, rel: string, bytes: Uint8Array | string): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

/**
 * A data root holding one episode, indexed: `episodes/h1/e1.tar.zst` (one `run` label) and its
 * `index.jsonl` line with the true sha256 and size. `dir` is the host folder, `data` the tarball.
 */
export function oneEpisodeRoot(prefix: string): { root: string; dir: string; data: Buffer } {
  const root = tempDir(prefix);
  const data = episodeTarball([{ phase: 'run', t_mono_ns: 0 }]);
  const dir = path.join(root, 'episodes', 'h1');
  addFile(root, 'episodes/h1/e1.tar.zst', data);
  fs.writeFileSync(path.join(root, 'index.jsonl'), indexLineFor('e1', data, '2026-11-01T12:00:00Z'));
  return { root, dir, data };
}

/** The `index.jsonl` line (with its newline) of episode `id` of host `h1`: the true sha256 and size of `data`. */
export function indexLineFor(id: string, data: Buffer, receivedAt: string): string {
  const line = {
    episode_id: id,
    host_id: 'h1',
    sha256: createHash('sha256').update(data).digest('hex'),
    size_bytes: data.length,
    received_at_wall: receivedAt,
  };
  return `${JSON.stringify(line)}\n`;
}

/** Waits until the explorer's integrity facets (`/api/episodes/facets` `status`) are `expected`. */
export async function waitForIntegrity(
  server: RunningServer,
  expected: EpisodeFacets['status'],
): Promise<void> {
  await vi.waitFor(
    async () =>
      expect((await getJson<EpisodeFacets>(server, '/api/episodes/facets')).body.status).toEqual(expected),
    { timeout: 20_000, interval: 50 },
  );
}

type RefreshStats = { full_scan: boolean; files_read: number; files_removed: number };

/**
 * A refresh of `svc` checked twice: its stats say it read and removed what `expected` says, and
 * its mix equals a cold computation's (`cold`). `first` runs before each (e.g. a feeder's scan).
 */
export function checkedRefresh(
  svc: PhaseMixService,
  cold: () => Promise<PhaseMix>,
  first: () => Promise<unknown> = async () => {},
): (expected: RefreshStats) => Promise<PhaseMix> {
  return async (expected) => {
    await first();
    const mix = await svc.refresh();
    expect(svc.stats().last_refresh).toMatchObject(expected);
    expect(mix).toEqual(await cold());
    return mix;
  };
}
