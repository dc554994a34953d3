import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils/tmp.js';
import { type EpisodeFile, type HostListing, listEpisodeFiles } from './scan.js';
import { createYielder } from './yielder.js';

const names = (files: EpisodeFile[]) => files.map((f) => f.rel).sort();

describe('listEpisodeFiles with host listings', () => {
  it('reads a host folder again only when its mtime moved', async () => {
    const root = tempDir();
    const dir = path.join(root, 'episodes', 'h1');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'a.tar.zst'), 'a');
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(dir, old, old);
    const hosts = new Map<string, HostListing>();
    const yielder = createYielder(10);
    const first = await listEpisodeFiles(root, yielder, null, hosts);
    expect(names(first)).toEqual(['episodes/h1/a.tar.zst']);
    const known = new Map(first.map((f) => [f.rel, f]));

    // A new file moves the folder's mtime: seen on the next quick listing.
    fs.writeFileSync(path.join(dir, 'b.tar.zst'), 'b');
    expect(names(await listEpisodeFiles(root, yielder, known, hosts))).toEqual([
      'episodes/h1/a.tar.zst',
      'episodes/h1/b.tar.zst',
    ]);

    // An old, unchanged mtime is trusted (no readdir): a file slipped in with the mtime put back is
    // only found by a full listing — which the service runs every interval.
    fs.utimesSync(dir, old, old);
    const settled = await listEpisodeFiles(root, yielder, known, hosts);
    fs.writeFileSync(path.join(dir, 'c.tar.zst'), 'c');
    fs.utimesSync(dir, old, old);
    expect(names(await listEpisodeFiles(root, yielder, known, hosts))).toEqual(names(settled));
    expect(names(await listEpisodeFiles(root, yielder, null, null))).toContain('episodes/h1/c.tar.zst');
  });
});
