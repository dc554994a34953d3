/**
 * A push parser for tar archives (ustar, GNU, pax): feed it decompressed byte chunks, it calls a
 * visitor per member and hands over only the bodies the visitor asks for. It never buffers a body
 * it skips and never allocates by a size the archive claims; only pax / GNU long-name headers are
 * collected, and those are capped.
 *
 * Semantics follow Python's `tarfile` in stream mode (the seed reads tarballs with it) where that
 * matters to which member is "labels.jsonl": prefix + name joining for POSIX ustar headers, pax
 * `path`/`size` overrides, GNU `L` long names, old-style directories (regular type, trailing `/`),
 * link and device types carrying no body. Deliberate differences: a bad header after the first
 * is an error here (tarfile silently ends the archive there), and end of data in the middle of a
 * header or body is reported as truncation (tarfile only notices when it reads that body).
 */

export const TAR_BLOCK = 512;

/** Why an archive could not be parsed. */
export type TarFailure = 'not_tar' | 'truncated' | 'too_large';

export class TarError extends Error {
  readonly reason: TarFailure;
  constructor(reason: TarFailure, message: string) {
    super(message);
    this.name = 'TarError';
    this.reason = reason;
  }
}

/** One archive member as its header(s) describe it. */
export interface TarMemberHeader {
  /** Full path inside the archive, as written (may be absolute or hold `..`: never used as a path). */
  name: string;
  /** Body size in bytes (what the header claims). */
  size: number;
  /** The raw typeflag character (`0`, `5`, `2`, ...; `\0` for old regular files). */
  type: string;
  /** A regular file (`0`, `\0`, `7`), as Python's `TarInfo.isfile()`. */
  isFile: boolean;
}

/** What the visitor wants done with the member just announced. */
export type MemberAction = 'read' | 'skip' | 'stop';

export interface TarVisitor {
  /** A member header; answer `read` to receive its body through `data`, `stop` to end parsing. */
  member(header: TarMemberHeader): MemberAction;
  /**
   * A piece of the body of a member answered with `read`. The bytes are only valid during the call
   * (the caller reuses its buffers): copy what you keep. Return `stop` to end parsing.
   */
  data(chunk: Uint8Array): undefined | 'stop';
  /** The body of a member answered with `read` is complete. Return `stop` to end parsing. */
  memberEnd(): undefined | 'stop';
}

export interface TarReaderOptions {
  /** Cap on a pax or GNU long-name header body; past it the archive fails with `too_large`. @default 1 MiB */
  maxExtendedHeaderBytes?: number;
}

type State = 'header' | 'body' | 'padding' | 'done';

/** Result of `push`: keep feeding, or the parser needs nothing more (visitor stopped / end marker). */
export type PushResult = 'more' | 'done';

const DECODER = new TextDecoder('utf-8');
/** Types whose size field does not announce a body (tarfile: `SUPPORTED_TYPES` minus regular ones). */
const NO_BODY_TYPES = new Set(['1', '2', '3', '4', '5', '6']);
/** Extended headers that describe the next member. */
const EXTENDED_TYPES = new Set(['x', 'g', 'L', 'K']);

interface PendingOverrides {
  path?: string;
  size?: number;
}

export class TarReader {
  private readonly visitor: TarVisitor;
  private readonly maxExtended: number;
  private state: State = 'header';
  private readonly header = new Uint8Array(TAR_BLOCK);
  private headerFill = 0;
  /** Bytes of the current body (or padding) still to come. */
  private remaining = 0;
  private padding = 0;
  /** What the current body is for. */
  private bodyMode: 'visitor' | 'skip' | 'extended' = 'skip';
  private extendedType = '';
  private extendedParts: Uint8Array[] = [];
  private overrides: PendingOverrides = {};
  private membersSeen = 0;
  private headersSeen = 0;

  constructor(visitor: TarVisitor, options: TarReaderOptions = {}) {
    this.visitor = visitor;
    this.maxExtended = options.maxExtendedHeaderBytes ?? 1024 * 1024;
  }

  /** True once an end-of-archive block was read or the visitor stopped. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Members announced so far. */
  get members(): number {
    return this.membersSeen;
  }

  /** Feeds the next bytes of the archive. Throws `TarError` on a malformed archive. */
  push(chunk: Uint8Array): PushResult {
    let offset = 0;
    while (offset < chunk.length && this.state !== 'done') {
      switch (this.state) {
        case 'header': {
          const take = Math.min(TAR_BLOCK - this.headerFill, chunk.length - offset);
          this.header.set(chunk.subarray(offset, offset + take), this.headerFill);
          this.headerFill += take;
          offset += take;
          if (this.headerFill === TAR_BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - offset);
          const piece = chunk.subarray(offset, offset + take);
          offset += take;
          this.remaining -= take;
          if (this.bodyMode === 'visitor') {
            if (take > 0 && this.visitor.data(piece) === 'stop') this.state = 'done';
          } else if (this.bodyMode === 'extended') {
            this.extendedParts.push(piece.slice());
          }
          if (this.remaining === 0 && this.state !== 'done') this.endBody();
          break;
        }
        case 'padding': {
          const take = Math.min(this.padding, chunk.length - offset);
          offset += take;
          this.padding -= take;
          if (this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
    return this.state === 'done' ? 'done' : 'more';
  }

  /**
   * The data ended. Ending at a header boundary without the end-of-archive blocks is accepted (as
   * tarfile does); ending inside a header or a body is truncation; no header at all is not a tar.
   */
  end(): void {
    if (this.state === 'done') return;
    if (this.state === 'header' && this.headerFill === 0) {
      if (this.headersSeen === 0) throw new TarError('not_tar', 'empty archive');
      this.state = 'done';
      return;
    }
    throw new TarError(
      'truncated',
      `archive ends inside ${this.state === 'header' ? 'a header' : 'a member'}`,
    );
  }

  private onHeader(): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      if (this.headersSeen === 0) throw new TarError('not_tar', 'archive starts with an end block');
      this.state = 'done';
      return;
    }
    if (!checksumMatches(h)) {
      throw new TarError('not_tar', `bad tar header checksum at member ${this.headersSeen + 1}`);
    }
    this.headersSeen++;
    const type = String.fromCharCode(h[156] ?? 0);
    const size = this.overrides.size ?? parseNumber(h.subarray(124, 136));
    if (size === null) throw new TarError('not_tar', 'bad size field in tar header');

    if (EXTENDED_TYPES.has(type)) {
      if (size > this.maxExtended) {
        throw new TarError('too_large', `extended tar header of ${size} bytes`);
      }
      this.extendedType = type;
      this.extendedParts = [];
      this.beginBody(size, 'extended');
      return;
    }

    let name = this.overrides.path ?? headerName(h, type);
    this.overrides = {};
    let isFile = type === '0' || type === '\0' || type === '7';
    // Old (v7) archives mark a directory as a regular file whose name ends in '/'.
    if (type === '\0' && name.endsWith('/')) isFile = false;
    if (!isFile && name.length > 1 && name.endsWith('/')) name = name.replace(/\/+$/, '');
    const bodyLength = NO_BODY_TYPES.has(type) ? 0 : size;
    this.membersSeen++;
    const action = this.visitor.member({ name, size, type, isFile });
    if (action === 'stop') {
      this.state = 'done';
      return;
    }
    this.beginBody(bodyLength, action === 'read' ? 'visitor' : 'skip');
  }

  private beginBody(length: number, mode: 'visitor' | 'skip' | 'extended'): void {
    this.bodyMode = mode;
    this.remaining = length;
    this.padding = (TAR_BLOCK - (length % TAR_BLOCK)) % TAR_BLOCK;
    this.state = 'body';
    if (length === 0) this.endBody();
  }

  private endBody(): void {
    if (this.bodyMode === 'visitor') {
      if (this.visitor.memberEnd() === 'stop') {
        this.state = 'done';
        return;
      }
    } else if (this.bodyMode === 'extended') {
      this.applyExtended();
    }
    this.state = this.padding > 0 ? 'padding' : 'header';
  }

  private applyExtended(): void {
    const body = concat(this.extendedParts);
    this.extendedParts = [];
    switch (this.extendedType) {
      case 'L':
        this.overrides.path = DECODER.decode(body.subarray(0, nulIndex(body)));
        break;
      case 'x': {
        const fields = parsePax(body);
        if (fields.path !== undefined) this.overrides.path = fields.path;
        if (fields.size !== undefined) {
          const size = Number(fields.size);
          if (!Number.isSafeInteger(size) || size < 0) throw new TarError('not_tar', 'bad pax size');
          this.overrides.size = size;
        }
        break;
      }
      // 'g' (global pax) and 'K' (long link name) do not change which member is which.
      default:
        break;
    }
  }
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** tarfile accepts the checksum computed over unsigned or over signed bytes. */
function checksumMatches(h: Uint8Array): boolean {
  const stored = parseNumber(h.subarray(148, 156));
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/**
 * A numeric header field: octal text (spaces/NULs around it), or GNU base-256 when the first byte
 * has its high bit set. Null when it is neither. Values past 2^53 become Infinity: only ever
 * compared against bounds, never allocated.
 */
function parseNumber(field: Uint8Array): number | null {
  const first = field[0] ?? 0;
  if (first === 0x80 || first === 0xff) {
    if (first === 0xff) return null; // negative
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return Number.isSafeInteger(value) ? value : Number.POSITIVE_INFINITY;
  }
  const end = nulIndex(field);
  let text = '';
  for (let i = 0; i < end; i++) text += String.fromCharCode(field[i] ?? 0);
  text = text.trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  return Number.parseInt(text, 8);
}

function nulIndex(bytes: Uint8Array): number {
  const i = bytes.indexOf(0);
  return i === -1 ? bytes.length : i;
}

function headerName(h: Uint8Array, type: string): string {
  const nameField = h.subarray(0, 100);
  const name = DECODER.decode(nameField.subarray(0, nulIndex(nameField)));
  // POSIX ustar ("ustar\0" + "00") splits long paths into prefix + name; GNU headers use that
  // area for other fields, so only the POSIX magic counts (as in tarfile).
  const isPosix =
    h[257] === 0x75 &&
    h[258] === 0x73 &&
    h[259] === 0x74 &&
    h[260] === 0x61 &&
    h[261] === 0x72 &&
    h[262] === 0;
  if (!isPosix || type === 'L' || type === 'K') return name;
  const prefixField = h.subarray(345, 500);
  const prefix = DECODER.decode(prefixField.subarray(0, nulIndex(prefixField)));
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** pax records `<len> <key>=<value>\n`; malformed records end the parse (tarfile raises). */
function parsePax(body: Uint8Array): Record<string, string> {
  const fields: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) throw new TarError('not_tar', 'bad pax record');
    let lenText = '';
    for (let i = pos; i < space; i++) lenText += String.fromCharCode(body[i] ?? 0);
    const len = Number.parseInt(lenText, 10);
    if (!/^\d+$/.test(lenText) || len <= space - pos || pos + len > body.length) {
      throw new TarError('not_tar', 'bad pax record length');
    }
    const record = DECODER.decode(body.subarray(space + 1, pos + len - 1));
    const eq = record.indexOf('=');
    if (eq === -1) throw new TarError('not_tar', 'bad pax record');
    fields[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return fields;
}

/** Joins what actually arrived (never sized by the header's claim). */
function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
