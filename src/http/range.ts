/**
 * What a request's `Range` header asks of a file of `size` bytes (RFC 9110 §14), one range only:
 * - `whole`: no header, or one the server ignores (not `bytes=`, malformed, several ranges,
 *   `a-b` with b < a): answer 200 with the whole file, as §14.2 allows;
 * - `unsatisfiable`: a first byte at or past the end, a suffix of 0, or any range of an empty
 *   file: answer 416 with `Content-Range: bytes *\/size`;
 * - `part`: bytes `start`..`end` inclusive (an end past the file is cut to its last byte, a
 *   suffix longer than the file is the whole file): answer 206.
 */
export type RangeAnswer =
  | { kind: 'whole' }
  | { kind: 'unsatisfiable' }
  | { kind: 'part'; start: number; end: number };

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = SINGLE.exec(header.trim());
  if (!m) return { kind: 'whole' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(end, size - 1) };
}
