import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { defaultStateDir } from '../config/schema.js';

/**
 * The real path of `p` even when it does not exist yet: the longest existing ancestor is resolved
 * (symlinks followed) and the missing components are appended as given. A data root that appears
 * later at that path then resolves to the same string, unless a symlink is made inside the part
 * that was missing.
 */
export function realPathLoose(p: string): string {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...missing.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return abs;
      missing.push(path.basename(at));
      at = parent;
    }
  }
}

/**
 * Which data root a catalog belongs to: its real path, and the identity of the directory there
 * (inode and birth time) so a directory removed and made again at the same path counts as
 * another root. The device number is left out on purpose: it can change across reboots and
 * container restarts (device-mapper, overlay and network mounts) while the data is the same.
 */
export interface DataRootId {
  real_path: string;
  /** `ino:birthtimeMs` of the root directory; null while it does not exist. */
  fingerprint: string | null;
}

export function dataRootId(dataRoot: string): DataRootId {
  const real_path = realPathLoose(dataRoot);
  let fingerprint: string | null = null;
  try {
    const st = fs.statSync(real_path, { bigint: true });
    if (st.isDirectory()) fingerprint = `${st.ino}:${st.birthtimeMs}`;
  } catch {
    // Not there yet: the catalog records the path and learns the fingerprint at a later start.
  }
  return { real_path, fingerprint };
}

/**
 * The default state dir for a data root: `$XDG_STATE_HOME/cis490-dashboard/<name>-<hash>`, where
 * `<hash>` is the first 12 hex digits of the sha256 of the root's real path (see `realPathLoose`)
 * and `<name>` its last component, for a human reading the folder. Each data root gets its own.
 */
export function defaultStateDirFor(dataRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const real = realPathLoose(dataRoot);
  const hash = createHash('sha256').update(real).digest('hex').slice(0, 12);
  const name =
    path
      .basename(real)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 40) || 'root';
  return path.join(defaultStateDir(env), `${name}-${hash}`);
}
