import path from 'node:path';

/**
 * Where an indexed episode's tarball should be, relative to the data root: the index line's
 * `path` when it names one, else `episodes/<host_id>/<episode_id>.tar.zst`. Null when the place
 * is not a safe relative path under `episodes/` (absolute, `..`, empty segments, NUL): such an
 * episode counts as missing and is never served.
 */
export function expectedRelPath(
  row: { episode_id: string; host_id: string; path: string | null },
  dataRoot: string,
): string | null {
  return safeRelPath(row.path ?? defaultRelPath(row.host_id, row.episode_id), dataRoot);
}

/** The default location of an episode's tarball (before any safety check). */
export function defaultRelPath(hostId: string, episodeId: string): string {
  return `episodes/${hostId}/${episodeId}.tar.zst`;
}

/**
 * `defaultRelPath` as a SQL expression over two columns (the catalog stores a path in its default
 * place as a mark: schema.ts EPISODE_PATH), the same text: the row round trip in
 * ingest-store.test.ts compares the two.
 */
export function defaultRelPathSql(hostColumn: string, idColumn: string): string {
  return `'episodes/' || ${hostColumn} || '/' || ${idColumn} || '.tar.zst'`;
}

/**
 * A relative path under `episodes/`, normalised (`./` and duplicate slashes removed), or null.
 * An absolute path inside the data root is made relative; anything leaving it is refused.
 */
export function safeRelPath(raw: string, dataRoot: string): string | null {
  if (raw === '' || raw.includes('\0') || raw.includes('\\')) return null;
  let rel = raw;
  if (path.posix.isAbsolute(rel)) {
    const root = path.resolve(dataRoot);
    if (!rel.startsWith(`${root}/`)) return null;
    rel = rel.slice(root.length + 1);
  }
  // Refuse `..` segments outright rather than resolving them: an index line naming one is hostile
  // or broken, and a resolved path could still pass through a symlink.
  if (rel.split('/').some((segment) => segment === '..')) return null;
  const normalized = path.posix.normalize(rel).replace(/^(\.\/)+/, '');
  if (!normalized.startsWith('episodes/') || normalized.endsWith('/')) return null;
  return normalized;
}

/** `episodes/<host>/<id>.tar.zst` → host and id; null for any other shape. */
export function parseDefaultRelPath(rel: string): { hostId: string; episodeId: string } | null {
  const m = /^episodes\/([^/]+)\/([^/]+)\.tar\.zst$/.exec(rel);
  if (!m) return null;
  return { hostId: m[1] as string, episodeId: m[2] as string };
}
