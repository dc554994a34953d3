/**
 * The rotated siblings of a tailed file: `<name>.N`, any of them possibly compressed as
 * `<name>.N.gz`. Two numberings exist: logrotate's, where `.1` is the newest and each rotation
 * shifts the others up, and the one that gives each new rotated file the next number (the demo's
 * receiver), where the highest is the newest. Which one a folder uses is read from the files'
 * mtimes; when they cannot tell, logrotate's. Compressed files are never read; they are only
 * recognised (first bytes after gunzip) and sized (the gzip trailer) to say what they hold.
 */
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { sha1Hex } from './fingerprint.js';
import type { StatLike, TailFs, TailHandle } from './fs.js';
import type { FileIdentity } from './types.js';

export interface RotatedSibling {
  path: string;
  /** The rotation number N. */
  n: number;
  gz: boolean;
  stat: StatLike;
  /** Position in time: 0 for the oldest; `.N` and `.N.gz` share theirs (a gzip in progress). */
  age: number;
}

/** Regular files `<name>.N` and `<name>.N.gz` beside `target`, oldest first. */
export async function rotatedSiblings(fs: TailFs, target: string): Promise<RotatedSibling[]> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const found: RotatedSibling[] = [];
  for (const name of await fs.readdir(dir)) {
    const n = rotationNumber(base, name);
    if (n === null) continue;
    const p = path.join(dir, name);
    const stat = await fs.stat(p).catch(() => null);
    if (stat?.kind === 'file') found.push({ path: p, n: n.n, gz: n.gz, stat, age: 0 });
  }
  const up = newestIsHighest(found) ? 1 : -1;
  // An uncompressed file sorts after a compressed one of the same number (a gzip in progress).
  found.sort((a, b) => up * (a.n - b.n) || Number(b.gz) - Number(a.gz));
  let age = -1;
  found.forEach((s, i) => {
    if (i === 0 || s.n !== found[i - 1]?.n) age += 1;
    s.age = age;
  });
  return found;
}

/**
 * Does the numbering count up (the highest number is the newest)? Neighbouring numbers of the same
 * kind (both compressed or both not: a gzip's mtime may be when it was compressed) vote by which
 * one was written last; a tie, or no votes, is logrotate's numbering (`.1` the newest).
 */
function newestIsHighest(siblings: readonly RotatedSibling[]): boolean {
  return numberingVotes(siblings) > 0;
}

/**
 * Do the mtimes tell the numbering (see `newestIsHighest`)? False when they cannot — no pair of
 * neighbours written at different times (a restored or touched folder) — and it is only assumed.
 */
export function numberingKnown(siblings: readonly RotatedSibling[]): boolean {
  return numberingVotes(siblings) !== 0;
}

function numberingVotes(siblings: readonly RotatedSibling[]): number {
  let votes = 0;
  for (const gz of [false, true]) {
    const kind = siblings.filter((s) => s.gz === gz).sort((a, b) => a.n - b.n);
    for (let i = 1; i < kind.length; i++) {
      const lower = kind[i - 1] as RotatedSibling;
      const higher = kind[i] as RotatedSibling;
      votes += Math.sign(higher.stat.mtimeMs - lower.stat.mtimeMs);
    }
  }
  return votes;
}

/**
 * The siblings that came after `anchor` (the newest file a checkpoint knew), oldest first: younger
 * by the numbering and, between uncompressed files, not last written before it (a guard should the
 * mtimes have voted wrong; a gzip's mtime may be when it was compressed). With no anchor (it is
 * lost), all of them.
 */
export function newerThan(
  siblings: readonly RotatedSibling[],
  anchor: RotatedSibling | null,
): RotatedSibling[] {
  if (!anchor) return [...siblings];
  const notBefore = (s: RotatedSibling) => s.gz || anchor.gz || s.stat.mtimeMs >= anchor.stat.mtimeMs;
  return siblings.filter((s) => s.age > anchor.age && notBefore(s));
}

/** `items` with the rotated siblings among them first, oldest first; the others after, in order. */
export function oldestFirst<T extends { path: string }>(
  items: readonly T[],
  siblings: readonly RotatedSibling[],
): T[] {
  const ages = new Map(siblings.map((s) => [s.path, s.age]));
  const rotated = items.filter((q) => ages.has(q.path));
  rotated.sort((a, b) => (ages.get(a.path) ?? 0) - (ages.get(b.path) ?? 0));
  return [...rotated, ...items.filter((q) => !ages.has(q.path))];
}

/** `index.jsonl.3` → {n: 3}, `index.jsonl.3.gz` → {n: 3, gz}; anything else → null. */
export function rotationNumber(base: string, name: string): { n: number; gz: boolean } | null {
  if (!name.startsWith(`${base}.`)) return null;
  const m = /^([1-9]\d{0,5})(\.gz)?$/.exec(name.slice(base.length + 1));
  return m ? { n: Number(m[1]), gz: m[2] !== undefined } : null;
}

/** What a compressed sibling holds: whether it starts like `id`, and its uncompressed size. */
export interface GzInfo {
  matches: boolean;
  /** From the gzip trailer (modulo 4 GiB, as gzip stores it); null when the file is not gzip. */
  size: number | null;
}

/** Compressed bytes tried at first to inflate a fingerprint's worth; doubled up to the file size. */
const GZ_PREFIX = 16 * 1024;

/**
 * Looks into a `.gz` sibling without reading it whole: inflates just enough of its start to
 * compare the first `id.fingerprintLen` bytes (when `id` is given), and reads the size from its
 * trailer. A file that is not gzip (or is being written) gives `{matches: false, size: null}`.
 */
export async function inspectGz(handle: TailHandle, size: number, id: FileIdentity | null): Promise<GzInfo> {
  if (size < 18) return { matches: false, size: null };
  const trailer = Buffer.alloc(4);
  if ((await handle.read(trailer, size - 4)) !== 4) return { matches: false, size: null };
  const info: GzInfo = { matches: false, size: trailer.readUInt32LE(0) };
  if (!id || id.fingerprintLen === 0) return info;
  for (let len = Math.min(GZ_PREFIX, size); ; len = Math.min(len * 2, size)) {
    const head = await inflateHead(handle, len);
    if (head === null) return { matches: false, size: null };
    if (head.length >= id.fingerprintLen) {
      info.matches = sha1Hex(head.subarray(0, id.fingerprintLen)) === id.fingerprint;
      return info;
    }
    if (len === size) return info; // the whole file inflates to less than the fingerprint
  }
}

/** Inflates the first `len` compressed bytes; null when they are not gzip. */
async function inflateHead(handle: TailHandle, len: number): Promise<Buffer | null> {
  const buf = Buffer.alloc(len);
  const got = await handle.read(buf, 0);
  if (got < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return null;
  try {
    // SYNC_FLUSH: a prefix of a stream inflates to what it holds instead of failing at its end.
    return gunzipSync(buf.subarray(0, got), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
}

/** `inspectGz` on the file at `p`; an unreadable file gives `{matches: false, size: null}`. */
export async function inspectGzAt(
  fs: TailFs,
  p: string,
  size: number,
  id: FileIdentity | null,
): Promise<GzInfo> {
  let handle: TailHandle;
  try {
    handle = await fs.open(p);
  } catch {
    return { matches: false, size: null };
  }
  try {
    return await inspectGz(handle, size, id);
  } catch {
    return { matches: false, size: null };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
