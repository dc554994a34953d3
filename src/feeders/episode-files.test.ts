import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { type HostListing, scanHosts } from './episode-files.js';

const names = (listings: Map<string, HostListing>) =>
  [...listings.values()].flatMap((l) => [...l.files.values()].map((f) => f.rel)).sort();

describe('scanHosts', () => {
  it('reads a host folder again only when its mtime moved, and says which hosts changed', async () => {
    const root = tempDir();
    const dir = path.join(root, 'episodes', 'h1');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(root, 'episodes', 'h2'));
    fs.writeFileSync(path.join(dir, 'a.tar.zst'), 'a');
    fs.writeFileSync(path.join(root, 'episodes', 'h2', 'z.tar.zst'), 'z');
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(dir, old, old);
    fs.utimesSync(path.join(root, 'episodes', 'h2'), old, old);
    const listings = new Map<string, HostListing>();
    const first = await scanHosts(root, listings, true);
    expect(names(listings)).toEqual(['episodes/h1/a.tar.zst', 'episodes/h2/z.tar.zst']);
    expect([...first.relisted.keys()].sort()).toEqual(['h1', 'h2']);
    const a = listings.get('h1')?.files.get('a.tar.zst');

    // A new file moves the folder's mtime: seen on the next quick scan; the known file is kept as is.
    fs.writeFileSync(path.join(dir, 'b.tar.zst'), 'b');
    const second = await scanHosts(root, listings, false);
    expect(names(listings)).toEqual([
      'episodes/h1/a.tar.zst',
      'episodes/h1/b.tar.zst',
      'episodes/h2/z.tar.zst',
    ]);
    expect([...second.relisted.keys()]).toEqual(['h1']);
    expect(second.relisted.get('h1')?.files.size).toBe(1);
    expect(listings.get('h1')?.files.get('a.tar.zst')).toBe(a);

    // An old, unchanged mtime is trusted (no readdir): a file slipped in with the mtime put back is
    // only found by a full scan — which the service runs every interval.
    fs.utimesSync(dir, old, old);
    await scanHosts(root, listings, false);
    const settled = names(listings);
    fs.writeFileSync(path.join(dir, 'c.tar.zst'), 'c');
    fs.utimesSync(dir, old, old);
    expect((await scanHosts(root, listings, false)).relisted.size).toBe(0);
    expect(names(listings)).toEqual(settled);
    await scanHosts(root, listings, true);
    expect(names(listings)).toContain('episodes/h1/c.tar.zst');

    // A host folder that goes is reported with its last listing.
    fs.rmSync(path.join(root, 'episodes', 'h2'), { recursive: true });
    const gone = await scanHosts(root, listings, false);
    expect([...(gone.removed.get('h2')?.files.values() ?? [])].map((f) => f.rel)).toEqual([
      'episodes/h2/z.tar.zst',
    ]);
    expect([...listings.keys()]).toEqual(['h1']);
  });
});
