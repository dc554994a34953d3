/**
 * Finding a file we were reading after it moved: the rotated name of a renamed file, or the copy
 * logrotate's copytruncate left beside the truncated one. Candidates are the regular files in the
 * same folder.
 */
import path from 'node:path';
import { checkHead, sameInode } from './fingerprint.js';
import type { StatLike, TailFs, TailHandle } from './fs.js';
import type { FileIdentity } from './types.js';

export interface Located {
  /** Full path of the file found. */
  path: string;
  handle: TailHandle;
  stat: StatLike;
  /** 'inode': the same file under another name; 'fingerprint': same first bytes (a copy, or moved). */
  match: 'inode' | 'fingerprint';
}

export interface FindOptions {
  /** Candidates smaller than this are not it (they cannot hold what was already read). */
  minSize: number;
  /** Only files with the same first bytes but another inode (copytruncate's copy). */
  copiesOnly?: boolean;
  /** Files never to return (those already held open). */
  exclude?: ReadonlyArray<{ dev: number; ino: number }>;
}

/**
 * Looks beside `target` (excluding `target` itself) for the file `id` names: the same inode with
 * the same first bytes first, then — when the fingerprint covers something — the same first bytes
 * alone, newest first. The handle of the file found is left open for the caller.
 */
export async function findSibling(
  fs: TailFs,
  target: string,
  id: FileIdentity,
  o: FindOptions,
): Promise<Located | null> {
  const dir = path.dirname(target);
  const self = path.basename(target);
  const candidates: Array<{ path: string; stat: StatLike }> = [];
  for (const name of await fs.readdir(dir)) {
    if (name === self) continue;
    const p = path.join(dir, name);
    const st = await fs.stat(p).catch(() => null);
    if (st?.kind !== 'file' || st.size < o.minSize || st.size < id.fingerprintLen) continue;
    if (o.exclude?.some((x) => sameInode(x, st))) continue;
    candidates.push({ path: p, stat: st });
  }
  const byInode = o.copiesOnly ? [] : candidates.filter((c) => sameInode(c.stat, id));
  const byHead =
    id.fingerprintLen > 0
      ? candidates.filter((c) => !sameInode(c.stat, id)).sort((a, b) => b.stat.mtimeMs - a.stat.mtimeMs)
      : [];
  for (const [list, match] of [
    [byInode, 'inode'],
    [byHead, 'fingerprint'],
  ] as const) {
    for (const c of list) {
      const found = await openIfSame(fs, c.path, id);
      if (found) return { path: c.path, handle: found.handle, stat: found.stat, match };
    }
  }
  return null;
}

/** Opens `p` and keeps the handle when the file starts with the fingerprinted bytes. */
async function openIfSame(
  fs: TailFs,
  p: string,
  id: FileIdentity,
): Promise<{ handle: TailHandle; stat: StatLike } | null> {
  let handle: TailHandle;
  try {
    handle = await fs.open(p);
  } catch {
    return null; // unreadable or gone: not a candidate
  }
  try {
    const st = await handle.stat();
    if (st.kind === 'file' && (await checkHead(handle, id, st.size)).matches) return { handle, stat: st };
  } catch {
    // fall through: not a candidate
  }
  await handle.close().catch(() => undefined);
  return null;
}

/** The path under which the file with this inode now sits beside `target` (not `target` itself). */
export async function findByInode(
  fs: TailFs,
  target: string,
  inode: { dev: number; ino: number },
): Promise<string | null> {
  const dir = path.dirname(target);
  const self = path.basename(target);
  for (const name of await fs.readdir(dir)) {
    if (name === self) continue;
    const p = path.join(dir, name);
    const st = await fs.stat(p).catch(() => null);
    if (st?.kind === 'file' && sameInode(st, inode)) return p;
  }
  return null;
}
