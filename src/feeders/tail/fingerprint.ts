/**
 * File identity: device + inode, and a sha1 of the first bytes. Inodes are reused once a file is
 * deleted, and a renamed or copied file is recognised by its first bytes alone.
 */
import { createHash } from 'node:crypto';
import type { StatLike, TailHandle } from './fs.js';
import type { Checkpoint, FileIdentity } from './types.js';

/** How many leading bytes a full fingerprint covers. */
export const FINGERPRINT_BYTES = 1024;

export function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * The bytes an identity's fingerprint was made of, where this process read them: a look of a
 * growing file compares its first bytes with these instead of hashing them again.
 */
const headBytes = new WeakMap<FileIdentity, Buffer>();

function withHead(id: FileIdentity, head: Buffer): FileIdentity {
  headBytes.set(id, Buffer.from(head));
  return id;
}

/** Reads up to `length` bytes from the start of the file (fewer at EOF). */
export async function readHead(handle: TailHandle, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = await handle.read(buf.subarray(got), got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Identity of an open file as it is now. */
export async function identify(handle: TailHandle, st?: StatLike): Promise<FileIdentity> {
  const s = st ?? (await handle.stat());
  const head = await readHead(handle, Math.min(s.size, FINGERPRINT_BYTES));
  return withHead({ dev: s.dev, ino: s.ino, fingerprint: sha1Hex(head), fingerprintLen: head.length }, head);
}

/**
 * Does `id` tell its file's content from a later one's? Only once it covers a whole line (each
 * record names its episode) or FINGERPRINT_BYTES. No bytes, or part of a first line (which every
 * record starts alike), match a file that was truncated and refilled, so such a file shows no sign
 * of a copytruncate. An identity whose bytes this process never read (a checkpoint's) is taken to.
 */
export function identifiesContent(id: FileIdentity): boolean {
  if (id.fingerprintLen === 0) return false;
  if (id.fingerprintLen >= FINGERPRINT_BYTES) return true;
  return headBytes.get(id)?.includes(0x0a) ?? true;
}

/** The identity of a file none of which is known: every file starts with its first 0 bytes. */
export function blankIdentity(inode: { dev: number; ino: number }): FileIdentity {
  const none = Buffer.alloc(0);
  return withHead({ dev: inode.dev, ino: inode.ino, fingerprint: sha1Hex(none), fingerprintLen: 0 }, none);
}

export function sameInode(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export interface HeadCheck {
  /** The file still starts with the bytes `id` fingerprinted. */
  matches: boolean;
  /** The identity grown to the file's current first min(size, 1024) bytes (when it matches). */
  grown: FileIdentity;
}

/** Does the open file still start with the fingerprinted bytes? Also grows a young fingerprint. */
export async function checkHead(handle: TailHandle, id: FileIdentity, size: number): Promise<HeadCheck> {
  const head = await readHead(handle, Math.min(Math.max(size, id.fingerprintLen), FINGERPRINT_BYTES));
  if (head.length < id.fingerprintLen) return { matches: false, grown: id };
  const prefix = head.subarray(0, id.fingerprintLen);
  const known = headBytes.get(id);
  const matches = known ? known.equals(prefix) : sha1Hex(prefix) === id.fingerprint;
  if (!matches) return { matches, grown: id };
  if (head.length === id.fingerprintLen) return { matches, grown: known ? id : withHead(id, prefix) };
  return {
    matches,
    grown: withHead({ ...id, fingerprint: sha1Hex(head), fingerprintLen: head.length }, head),
  };
}

/**
 * A file's stable key, `<dev>:<ino>:<len>:<sha1>`: device, inode and a sha1 of its first line
 * (its first `len` bytes, up to and including the first '\n', at most FINGERPRINT_BYTES). Unlike
 * the fingerprint, which grows with a young file, the key is the same whenever it is computed once
 * a line has been read (`consumedTo` > 0 is at a line boundary, so the first line is complete), so
 * a mark stored under it matches the file again after a restart. `checkpointFromKey` turns it back
 * into a checkpoint the tailer resumes from (the first line's bytes are a valid fingerprint).
 */
export async function fileKey(
  handle: TailHandle,
  id: Pick<FileIdentity, 'dev' | 'ino'>,
  consumedTo: number,
): Promise<string> {
  const head = await readHead(handle, Math.min(consumedTo, FINGERPRINT_BYTES));
  const nl = head.indexOf(0x0a);
  const first = nl >= 0 ? head.subarray(0, nl + 1) : head;
  return `${id.dev}:${id.ino}:${first.length}:${sha1Hex(first)}`;
}

/** The checkpoint at `offset` of the file a `fileKey` names; null when `key` is not one. */
export function checkpointFromKey(key: string, offset: number): Checkpoint | null {
  const m = /^(\d+):(\d+):(\d+):([0-9a-f]{40})$/.exec(key);
  if (!m) return null;
  return {
    dev: Number(m[1]),
    ino: Number(m[2]),
    fingerprintLen: Number(m[3]),
    fingerprint: m[4] as string,
    offset,
  };
}
