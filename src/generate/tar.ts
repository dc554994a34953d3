import { DashboardError } from '../util/errors.js';

/**
 * A minimal ustar writer (POSIX.1-1988 headers; pax `path` records for names ustar cannot hold).
 * Output is deterministic: no clock, no user lookup — whatever the entry says.
 */

export const TAR_BLOCK = 512;

/** Two zero blocks end an archive. */
export const TAR_END: Buffer = Buffer.alloc(TAR_BLOCK * 2);

export interface TarEntry {
  /** Path inside the archive, `/`-separated; a directory's trailing `/` is added if missing. */
  name: string;
  /** File contents (UTF-8 when a string). Ignored for directories. */
  data?: Uint8Array | string;
  /** @default 'file' */
  type?: 'file' | 'directory';
  /** Permission bits. @default 0o644 for files, 0o755 for directories */
  mode?: number;
  /** Modification time, seconds since the epoch. @default 0 */
  mtime?: number;
  /** @default 0 */
  uid?: number;
  /** @default 0 */
  gid?: number;
  /** @default 'root' */
  uname?: string;
  /** @default 'root' */
  gname?: string;
}

/** Largest size an 11-digit octal field holds (8 GiB - 1). */
const MAX_OCTAL_11 = 8 ** 11 - 1;

/** The archive bytes of one entry: header(s), data, zero padding to a block boundary. */
export function encodeTarEntry(entry: TarEntry): Buffer[] {
  const isDir = entry.type === 'directory';
  const name = isDir && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const data = isDir ? EMPTY : toBytes(entry.data);
  const parts: Buffer[] = [];
  const split = splitName(name);
  if (split === null) {
    // Too long for name + prefix: a pax extended header carries the full path, and the ustar
    // header keeps a truncated name for readers that ignore pax.
    const pax = paxRecords({ path: name });
    parts.push(
      header({ ...entry, name: truncateBytes(`PaxHeaders/${name}`, 100), prefix: '' }, 'x', pax.length),
    );
    parts.push(pax, padding(pax.length));
    parts.push(
      header({ ...entry, name: truncateBytes(name, 100), prefix: '' }, isDir ? '5' : '0', data.length),
    );
  } else {
    parts.push(header({ ...entry, name: split.name, prefix: split.prefix }, isDir ? '5' : '0', data.length));
  }
  if (data.length > 0) parts.push(data, padding(data.length));
  return parts;
}

/** A whole archive in memory: every entry, then the two zero end blocks. */
export function createTar(entries: Iterable<TarEntry>): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) parts.push(...encodeTarEntry(entry));
  parts.push(TAR_END);
  return Buffer.concat(parts);
}

const EMPTY = Buffer.alloc(0);
const ZERO_BLOCK = Buffer.alloc(TAR_BLOCK);

function toBytes(data: Uint8Array | string | undefined): Buffer {
  if (data === undefined) return EMPTY;
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function padding(length: number): Buffer {
  const rest = length % TAR_BLOCK;
  return rest === 0 ? EMPTY : ZERO_BLOCK.subarray(0, TAR_BLOCK - rest);
}

/** Fits a path into ustar's name (100 bytes) and prefix (155 bytes), splitting at a `/`; null if it cannot. */
function splitName(path: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // The split slash itself is dropped: readers join prefix + '/' + name.
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) > 155) return null;
    if (name !== '' && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  return null;
}

function truncateBytes(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= max
    ? text
    : bytes
        .subarray(0, max)
        .toString('utf8')
        .replace(/\uFFFD+$/, '');
}

/** pax records: `<len> <key>=<value>\n`, where `<len>` counts the whole record including itself. */
function paxRecords(fields: Record<string, string>): Buffer {
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    const body = ` ${key}=${value}\n`;
    const bodyLen = Buffer.byteLength(body);
    let len = bodyLen + String(bodyLen).length;
    if (String(len).length + bodyLen !== len) len = bodyLen + String(len).length;
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

interface HeaderFields extends TarEntry {
  prefix: string;
}

function header(entry: HeaderFields, typeflag: string, size: number): Buffer {
  if (size > MAX_OCTAL_11) {
    throw new DashboardError('tar_entry_too_large', `tar entry ${entry.name} is larger than 8 GiB`, {
      name: entry.name,
      size,
    });
  }
  const isDir = typeflag === '5';
  const block = Buffer.alloc(TAR_BLOCK);
  writeString(block, 0, 100, entry.name);
  writeOctal(block, 100, 8, entry.mode ?? (isDir ? 0o755 : 0o644));
  writeOctal(block, 108, 8, entry.uid ?? 0);
  writeOctal(block, 116, 8, entry.gid ?? 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, Math.floor(entry.mtime ?? 0));
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(block, 156, 1, typeflag);
  writeString(block, 257, 6, 'ustar'); // "ustar\0"
  writeString(block, 263, 2, '00');
  writeString(block, 265, 32, entry.uname ?? 'root');
  writeString(block, 297, 32, entry.gname ?? 'root');
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  writeString(block, 345, 155, entry.prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  // Six octal digits, NUL, space: the layout GNU tar and BSD tar both write.
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) {
    throw new DashboardError('tar_field_too_long', `tar header field too long: ${value}`, { value, length });
  }
  bytes.copy(block, offset);
}

/** Zero-padded octal, NUL-terminated, filling `length` bytes. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}
