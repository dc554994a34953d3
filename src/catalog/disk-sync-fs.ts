import fs from 'node:fs/promises';
import path from 'node:path';
import { isEpisodeFile } from '../feeders/episodes-dir.js';
import type { DiskFile } from './disk-sync.js';

/**
 * Lists every episode tarball under `<dataRoot>/episodes/<host>/`: regular files named
 * `*.tar.zst` only (symlinks, folders, temp uploads and checksum files are not episodes). A
 * missing `episodes/` folder lists nothing; a file gone between readdir and stat is skipped.
 */
export async function listEpisodeFiles(dataRoot: string): Promise<DiskFile[]> {
  const root = path.join(dataRoot, 'episodes');
  const out: DiskFile[] = [];
  let hosts: import('node:fs').Dirent[];
  try {
    hosts = await fs.readdir(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const host of hosts) {
    if (!host.isDirectory()) continue;
    let names: import('node:fs').Dirent[];
    try {
      names = await fs.readdir(path.join(root, host.name), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of names) {
      if (!entry.isFile() || !isEpisodeFile(entry.name)) continue;
      const relPath = `episodes/${host.name}/${entry.name}`;
      try {
        const st = await fs.lstat(path.join(dataRoot, relPath));
        if (!st.isFile()) continue;
        out.push({
          relPath,
          hostId: host.name,
          episodeId: entry.name.slice(0, -'.tar.zst'.length),
          size: st.size,
          mtimeMs: Math.trunc(st.mtimeMs),
        });
      } catch {
        // Renamed or removed since readdir: the next listing settles it.
      }
    }
  }
  return out;
}
