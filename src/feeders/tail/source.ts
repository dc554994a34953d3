/**
 * One open file being read: its handle, identity and read position. A source stays readable after
 * its name moves or is deleted — that is how a rotated file's tail gets drained.
 */
import { DashboardError } from '../../util/errors.js';
import { identify } from './fingerprint.js';
import type { StatLike, TailFs, TailHandle } from './fs.js';
import { type ReadPosition, START } from './reader.js';
import type { Checkpoint, FileIdentity, RotationKind } from './types.js';

export interface Source {
  /** The name it was opened by (it may have moved since). */
  path: string;
  handle: TailHandle;
  id: FileIdentity;
  pos: ReadPosition;
  /** Size and mtime at the last look, to notice a change without hashing every time. */
  size: number;
  mtimeMs: number;
  /**
   * Why this file is read although it is not the one at the tailed path: it is the rotated old
   * file ('rename') or copytruncate's copy ('truncate'). null when it is (or was) at the path.
   */
  origin: RotationKind | null;
  /** Its stable key (see `fileKey`), computed once when a consumer asked for keys. */
  key?: string;
}

export async function openSource(
  fs: TailFs,
  p: string,
  pos: ReadPosition = START,
  origin: RotationKind | null = null,
): Promise<Source> {
  const handle = await fs.open(p);
  try {
    const st = await handle.stat();
    if (st.kind !== 'file') {
      throw new DashboardError('not_a_file', `${p} is a ${st.kind}, not a regular file`, { path: p });
    }
    return adoptSource(p, handle, st, await identify(handle, st), pos, origin);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

export function adoptSource(
  p: string,
  handle: TailHandle,
  st: StatLike,
  id: FileIdentity,
  pos: ReadPosition,
  origin: RotationKind | null,
): Source {
  return { path: p, handle, id, pos, size: st.size, mtimeMs: st.mtimeMs, origin };
}

export function checkpointOf(s: Source): Checkpoint {
  return { ...s.id, offset: s.pos.offset };
}

export async function closeSource(s: Source): Promise<void> {
  await s.handle.close().catch(() => undefined);
}
