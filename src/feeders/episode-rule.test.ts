import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { jsonl, tarZst } from '../../test/support/phasemix.js';
import { getJson, testServer, waitReady } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import type { EpisodeFacets } from '../protocol/api.js';
import type { DashboardState, PhaseMix } from '../protocol/index.js';

const tarball = () => tarZst([{ name: 'ep/labels.jsonl', data: jsonl([{ phase: 'run', t_mono_ns: 0 }]) }]);

/**
 * A data root holding, beside 3 real episodes, everything that is not one: dotfiles, temp uploads,
 * checksum files, a folder and a FIFO named like tarballs, a symlinked tarball, a symlinked host
 * folder (to a host inside the root and to a tree outside it), a dot folder, a stray top-level file.
 */
function trickyRoot(): string {
  const root = tempDir('cis490-episode-rule-');
  const outside = tempDir('cis490-episode-rule-outside-');
  const ep = path.join(root, 'episodes');
  const put = (rel: string) => {
    fs.mkdirSync(path.dirname(path.join(ep, rel)), { recursive: true });
    fs.writeFileSync(path.join(ep, rel), tarball());
  };
  put('h1/a.tar.zst');
  put('h1/b.tar.zst');
  put('h2/c.tar.zst');
  put('h1/.d.tar.zst');
  put('h1/e.tar.zst.tmp');
  put('h1/.tar.zst');
  fs.writeFileSync(path.join(ep, 'h1', 'a.sha256'), 'x');
  fs.mkdirSync(path.join(ep, 'h1', 'folder.tar.zst'));
  execFileSync('mkfifo', [path.join(ep, 'h2', 'fifo.tar.zst')]);
  fs.symlinkSync(path.join(ep, 'h1', 'a.tar.zst'), path.join(ep, 'h2', 'link.tar.zst'));
  fs.symlinkSync(path.join(ep, 'h1'), path.join(ep, 'h1-again'));
  fs.writeFileSync(path.join(outside, 'x.tar.zst'), tarball());
  fs.symlinkSync(outside, path.join(ep, 'elsewhere'));
  put('.trash/old.tar.zst');
  put('../stray.tar.zst');
  fs.writeFileSync(path.join(ep, 'top.tar.zst'), tarball());
  return root;
}

describe('what an episode file is', () => {
  it('host counts, the phase-mix population and the catalog disk listing agree on a tricky tree', async () => {
    const server = await testServer({ dataRoot: trickyRoot() });
    await waitReady(server);
    const { body: state } = await getJson<DashboardState>(server, '/api/state');
    expect(state.host_counts).toEqual({ h1: 2, h2: 1 });
    await vi.waitFor(
      async () => {
        const { body: mix } = await getJson<PhaseMix>(server, '/api/phase-mix');
        expect(mix.population_episodes).toBe(3);
      },
      { timeout: 20_000, interval: 50 },
    );
    // No index: every listed file is unindexed in the catalog, per host.
    await vi.waitFor(
      async () => {
        const { body } = await getJson<EpisodeFacets>(server, '/api/episodes/facets');
        expect(body.status.unindexed).toBe(3);
      },
      { timeout: 20_000, interval: 50 },
    );
  });
});
