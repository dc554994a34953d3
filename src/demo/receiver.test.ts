import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { Receiver } from './receiver.js';
import { nodeReceiverFs, type ReceiverFs } from './receiver-fs.js';

/** An in-memory file system that records every operation, in order. */
function fakeFs() {
  const files = new Map<string, string>();
  const ops: string[] = [];
  const rel = (p: string) => p.replace(/^\/root\//, '');
  const fake: ReceiverFs = {
    mkdir: async (dir) => {
      ops.push(`mkdir ${rel(dir)}`);
    },
    writeFile: async (file, data) => {
      ops.push(`write ${rel(file)}`);
      files.set(file, typeof data === 'string' ? data : Buffer.from(data).toString('latin1'));
    },
    appendFile: async (file, text) => {
      ops.push(`append ${rel(file)}`);
      files.set(file, (files.get(file) ?? '') + text);
    },
    rename: async (from, to) => {
      ops.push(`rename ${rel(from)} ${rel(to)}`);
      files.set(to, files.get(from) ?? '');
      files.delete(from);
    },
    copyFile: async (from, to) => {
      ops.push(`copy ${rel(from)} ${rel(to)}`);
      files.set(to, files.get(from) ?? '');
    },
    truncate: async (file) => {
      ops.push(`truncate ${rel(file)}`);
      files.set(file, '');
    },
    unlink: async (file) => {
      ops.push(`unlink ${rel(file)}`);
      files.delete(file);
    },
    readdir: async (dir) =>
      [...files.keys()].filter((f) => path.dirname(f) === dir).map((f) => path.basename(f)),
    size: async (file) => (files.has(file) ? (files.get(file) as string).length : null),
  };
  return { fake, files, ops };
}

describe('Receiver', () => {
  it('lands a tarball under a temp name, renames it, and only then appends its index line', async () => {
    const { fake, ops, files } = fakeFs();
    const r = new Receiver('/root', fake);
    const line = await r.landEpisode('host-01', 'ep-1', Buffer.from('tarball'), '2026-11-29T10:00:00Z');
    expect(ops).toEqual([
      'mkdir episodes/host-01',
      'write episodes/host-01/ep-1.tar.zst.tmp',
      'rename episodes/host-01/ep-1.tar.zst.tmp episodes/host-01/ep-1.tar.zst',
      'append index.jsonl',
    ]);
    expect(line.sha256).toBe(createHash('sha256').update('tarball').digest('hex'));
    expect(JSON.parse(files.get('/root/index.jsonl') as string)).toMatchObject({
      episode_id: 'ep-1',
      host_id: 'host-01',
      size_bytes: 7,
      path: 'episodes/host-01/ep-1.tar.zst',
    });
  });

  it('rotates by rename (new empty log) and by copytruncate, keeping only the newest rotated files', async () => {
    const { fake, ops, files } = fakeFs();
    const r = new Receiver('/root', fake, { keepRotated: 2 });
    files.set('/root/alerts.jsonl.7', 'left by an earlier run\n');
    for (let i = 0; i < 3; i++) {
      await r.appendAlert({
        host: 'host-01',
        symptom: 'disk_low',
        detail: 'd',
        suggested_fix: 'f',
        detected_at_wall: 1,
        dedup_key: 'host-01:disk_low',
      });
      ops.length = 0;
      expect(await r.rotate('alerts', i % 2 === 0 ? 'rename' : 'copytruncate')).toBe(true);
      if (i === 0) {
        // Numbering continues after what was there; nothing is overwritten.
        expect(ops).toEqual(['rename alerts.jsonl alerts.jsonl.8', 'write alerts.jsonl']);
      }
      if (i === 1) {
        expect(ops.slice(0, 2)).toEqual(['copy alerts.jsonl alerts.jsonl.9', 'truncate alerts.jsonl']);
      }
    }
    expect([...files.keys()].filter((f) => f.includes('alerts.jsonl.')).sort()).toEqual([
      '/root/alerts.jsonl.10',
      '/root/alerts.jsonl.9',
    ]);
    const s = r.stats();
    expect(s.rotations.alerts).toEqual({ rename: 2, copytruncate: 1 });
    expect(s.prunedRotated).toBe(2);
    expect(s.dedupKeys).toEqual({ 'host-01:disk_low': 3 });
    // An empty log is not rotated.
    expect(await r.rotate('alerts', 'rename')).toBe(false);
    expect(await r.rotate('index', 'copytruncate')).toBe(false);
  });

  it('keeps at most maxEpisodesOnDisk of its tarballs, deleting the oldest, and counts what is left', async () => {
    const { fake, files } = fakeFs();
    const r = new Receiver('/root', fake, { maxEpisodesOnDisk: 2 });
    await r.landEpisode('host-01', 'ep-1', Buffer.alloc(10), 1);
    await r.landEpisode('host-02', 'ep-2', Buffer.alloc(20), 2);
    await r.landEpisode('host-01', 'ep-3', Buffer.alloc(30), 3);
    expect(files.has('/root/episodes/host-01/ep-1.tar.zst')).toBe(false);
    expect(r.disk()).toEqual({ 'host-01': { files: 1, bytes: 30 }, 'host-02': { files: 1, bytes: 20 } });
    expect(r.stats()).toMatchObject({ indexLines: 3, indexBytes: 60, deletedEpisodes: 1 });
  });

  it('writes real files: heartbeats replaced atomically, logs rotated both ways', async () => {
    const root = tempDir();
    const r = new Receiver(root, nodeReceiverFs);
    await r.writeHealth({
      host_id: 'host-01',
      last_heartbeat_wall: '2026-11-29T10:00:00.000Z',
      disk_free_bytes: 1,
      disk_total_bytes: 2,
      queue_depth: 0,
      shipper_version: 'v',
    });
    await r.landEpisode('host-01', 'ep-1', Buffer.from('x'), 1);
    const index = path.join(root, 'index.jsonl');
    const inode = fs.statSync(index).ino;
    await r.rotate('index', 'copytruncate');
    expect(fs.statSync(index)).toMatchObject({ ino: inode, size: 0 });
    await r.landEpisode('host-01', 'ep-2', Buffer.from('y'), 2);
    await r.rotate('index', 'rename');
    expect(fs.statSync(index).size).toBe(0);
    expect(fs.readFileSync(`${index}.1`, 'utf8')).toContain('"ep-1"');
    expect(fs.readFileSync(`${index}.2`, 'utf8')).toContain('"ep-2"');
    expect(fs.statSync(`${index}.2`).ino).toBe(inode);
    expect(fs.readdirSync(path.join(root, 'health'))).toEqual(['host-01.json']);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'health', 'host-01.json'), 'utf8')).host_id).toBe(
      'host-01',
    );
  });
});
