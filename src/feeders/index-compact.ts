import type { EpisodeRecord } from '../protocol/index.js';
import { RECENT_LIMIT } from '../protocol/index.js';
import { timestampMs } from '../util/time.js';
import { hash64 } from './id-hash-set.js';
import { newerMs } from './index-aggregates.js';
import { excerpt, indexKey, parseIndexLine, parseObject, type RecordSkipReason } from './records.js';

/** Per-line outcome codes in a compact batch. */
export const LINE_OK = 0;
export const SKIP_CODES: readonly RecordSkipReason[] = ['malformed_json', 'not_object', 'missing_fields'];

/**
 * What the first pass needs of a batch of index lines, in typed arrays (no object per line): per
 * line an outcome, the id's 64-bit hash, a host index, the size and
 * the received time. Only the last RECENT_LIMIT valid lines travel as whole records (the recent
 * list), and a few excerpts of rejected lines (the log).
 */
export interface CompactIndexBatch {
  count: number;
  /** 0 = ok; i + 1 = SKIP_CODES[i]. */
  status: Uint8Array;
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  host: Uint32Array;
  hosts: string[];
  /** NaN when absent. */
  size: Float64Array;
  /** Epoch ms; NaN when absent or unparseable. */
  receivedMs: Float64Array;
  /**
   * Per host (same order as `hosts`), what the batch's valid lines add when none repeats an id:
   * count, bytes and the newest time (NaN: none).
   */
  hostSums: { episodes: Float64Array; bytes: Float64Array; lastMs: Float64Array };
  /** Whole records of the last valid lines, with their line index in the batch. */
  tail: Array<{ index: number; record: EpisodeRecord }>;
  /** First rejected lines per reason, for the log. */
  rejected: Array<{ reason: RecordSkipReason; excerpt: string }>;
}

const EXCERPTS_PER_REASON = 3;

// The receiver's own line shape, as one anchored pattern. It admits only valid JSON: strings
// without escapes or control characters (so the matched text IS the decoded string) and numbers
// in JSON's grammar (so Number() gives what JSON.parse would). Anything else — other key orders,
// extra keys, whitespace, escapes — takes the general path. Matching costs a third of JSON.parse
// and allocates no object.
const STR = '"([^"\\\\\\u0000-\\u001f]*)"';
const NUM = '(-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)';
const RECEIVER_LINE = new RegExp(
  `^\\{"episode_id":${STR},"host_id":${STR},"sha256":${STR},"size_bytes":${NUM},"received_at_wall":(?:${STR}|${NUM})(?:,"path":${STR})?\\}$`,
);

interface Key {
  episode_id: string;
  host_id: string;
  size_bytes: number | null;
  received: unknown;
}

/** The fields of a line in the receiver's shape, or undefined when it is not in that shape. */
function fastKey(line: string): Key | null | undefined {
  const m = RECEIVER_LINE.exec(line);
  if (!m) return undefined;
  const episode_id = m[1] as string;
  const host_id = m[2] as string;
  // Same rule as indexKey: an empty id is no id.
  if (episode_id === '' || host_id === '') return null;
  const size = Number(m[4]);
  return {
    episode_id,
    host_id,
    size_bytes: Number.isFinite(size) && size >= 0 ? Math.trunc(size) : null,
    received: m[5] !== undefined ? m[5] : Number(m[6]),
  };
}

/** Pure: lines → compact batch. */
export function compactIndexBatch(lines: readonly string[]): CompactIndexBatch {
  const builder = new CompactBatchBuilder(lines.length);
  for (const line of lines) builder.addLine(line);
  return builder.finish();
}

/**
 * Builds a compact batch line by line. Lines come either as strings (`addLine`: the receiver's
 * shape by pattern, anything else by JSON.parse) or already decoded by the byte-level reader
 * (`addKey`, with a way to get the line's text back should it end up in the recent tail).
 * Per-host sums of the batch's valid lines are kept as they come: with no repeated id in the
 * batch (the usual case) the main thread adds them per host instead of per line.
 */
export class CompactBatchBuilder {
  private n = 0;
  private status: Uint8Array;
  private hashHi: Uint32Array;
  private hashLo: Uint32Array;
  private host: Uint32Array;
  private size: Float64Array;
  private receivedMs: Float64Array;
  hosts: string[] = [];
  private readonly hostIndex = new Map<string, number>();
  private hostEpisodes: number[] = [];
  private hostBytes: number[] = [];
  private hostLastMs: number[] = [];
  private rejected: CompactIndexBatch['rejected'] = [];
  private readonly rejectedPerReason = new Map<string, number>();
  /**
   * The last RECENT_LIMIT valid lines, as a ring: batch index, and the text — or, for lines the
   * byte reader decoded, where the text is in its buffer (decoded only if it stays in the tail).
   */
  private readonly ringIndex = new Int32Array(RECENT_LIMIT);
  private readonly ringText: Array<string | undefined> = new Array(RECENT_LIMIT);
  private readonly ringStart = new Int32Array(RECENT_LIMIT);
  private readonly ringEnd = new Int32Array(RECENT_LIMIT);
  private valid = 0;

  constructor(capacity = 1024) {
    const cap = Math.max(16, capacity);
    this.status = new Uint8Array(cap);
    this.hashHi = new Uint32Array(cap);
    this.hashLo = new Uint32Array(cap);
    this.host = new Uint32Array(cap);
    this.size = new Float64Array(cap);
    this.receivedMs = new Float64Array(cap);
  }

  /**
   * Starts a new batch in the same arrays. The batch `finish` returned before shares them: only a
   * caller that is done with it (it was applied at once) may reset.
   */
  reset(): void {
    this.n = 0;
    this.status.fill(0);
    this.hosts = [];
    this.hostIndex.clear();
    this.hostEpisodes = [];
    this.hostBytes = [];
    this.hostLastMs = [];
    this.rejected = [];
    this.rejectedPerReason.clear();
    this.valid = 0;
  }

  /** The index of a host name in this batch's `hosts` (added when new). */
  hostFor(name: string): number {
    let h = this.hostIndex.get(name);
    if (h === undefined) {
      h = this.hosts.length;
      this.hosts.push(name);
      this.hostIndex.set(name, h);
      this.hostEpisodes.push(0);
      this.hostBytes.push(0);
      this.hostLastMs.push(Number.NaN);
    }
    return h;
  }

  /**
   * A valid line, already decoded: its id's hash, host index, size (NaN: none), time (NaN: none),
   * and its text — or undefined with its byte range in the buffer later given to `finish`.
   */
  addKey(
    hi: number,
    lo: number,
    host: number,
    size: number,
    ms: number,
    text: string | undefined,
    start = 0,
    end = 0,
  ): void {
    const i = this.slot();
    this.hashHi[i] = hi;
    this.hashLo[i] = lo;
    this.host[i] = host;
    this.size[i] = size;
    this.receivedMs[i] = ms;
    this.hostEpisodes[host] = (this.hostEpisodes[host] as number) + 1;
    if (!Number.isNaN(size)) this.hostBytes[host] = (this.hostBytes[host] as number) + size;
    this.hostLastMs[host] = newerMs(this.hostLastMs[host] as number, ms);
    const r = this.valid++ % RECENT_LIMIT;
    this.ringIndex[r] = i;
    this.ringText[r] = text;
    this.ringStart[r] = start;
    this.ringEnd[r] = end;
  }

  /** A line rejected for `reason`; `line` is its text (for the log's excerpt). */
  addRejected(reason: RecordSkipReason, line: string): void {
    const i = this.slot();
    this.status[i] = SKIP_CODES.indexOf(reason) + 1;
    // Nothing of a rejected line is read, but a reused builder must not show the last batch's.
    this.hashHi[i] = 0;
    this.hashLo[i] = 0;
    this.host[i] = 0;
    this.size[i] = 0;
    this.receivedMs[i] = 0;
    const seen = this.rejectedPerReason.get(reason) ?? 0;
    if (seen < EXCERPTS_PER_REASON) this.rejected.push({ reason, excerpt: excerpt(line) });
    this.rejectedPerReason.set(reason, seen + 1);
  }

  /** One line as a string: the per-line parser's own pieces (parseObject, indexKey), so both paths accept alike. */
  addLine(line: string): void {
    let r: Key | null | undefined = fastKey(line);
    let reason: RecordSkipReason = 'missing_fields';
    if (r === undefined) {
      const parsed = parseObject(line);
      const key = parsed.ok ? indexKey(parsed.record) : null;
      if (!parsed.ok) reason = parsed.reason;
      r = key && parsed.ok ? { ...key, received: parsed.record.received_at_wall } : null;
    }
    if (!r) {
      this.addRejected(reason, line);
      return;
    }
    const [hi, lo] = hash64(r.episode_id);
    this.addKey(
      hi,
      lo,
      this.hostFor(r.host_id),
      r.size_bytes ?? Number.NaN,
      timestampMs(r.received) ?? Number.NaN,
      line,
    );
  }

  get count(): number {
    return this.n;
  }

  /** The batch; `source` is the buffer of lines added by byte range. */
  finish(source?: Buffer): CompactIndexBatch {
    const n = this.n;
    const tail: CompactIndexBatch['tail'] = [];
    for (let k = Math.max(0, this.valid - RECENT_LIMIT); k < this.valid; k++) {
      const r = k % RECENT_LIMIT;
      const text = this.ringText[r] ?? source?.toString('latin1', this.ringStart[r], this.ringEnd[r]);
      if (text === undefined) throw new Error('a line added by byte range needs its buffer');
      const parsed = parseIndexLine(text);
      if (!parsed.ok) throw new Error('unreachable: line was valid');
      tail.push({ index: this.ringIndex[r] as number, record: parsed.record });
    }
    return {
      count: n,
      status: this.status.subarray(0, n),
      hashHi: this.hashHi.subarray(0, n),
      hashLo: this.hashLo.subarray(0, n),
      host: this.host.subarray(0, n),
      hosts: this.hosts,
      size: this.size.subarray(0, n),
      receivedMs: this.receivedMs.subarray(0, n),
      hostSums: {
        episodes: Float64Array.from(this.hostEpisodes),
        bytes: Float64Array.from(this.hostBytes),
        lastMs: Float64Array.from(this.hostLastMs),
      },
      tail,
      rejected: this.rejected,
    };
  }

  /** The next line's index, growing the arrays when full. */
  private slot(): number {
    const i = this.n++;
    if (i === this.status.length) {
      const cap = i * 2;
      this.status = grown(this.status, new Uint8Array(cap));
      this.hashHi = grown(this.hashHi, new Uint32Array(cap));
      this.hashLo = grown(this.hashLo, new Uint32Array(cap));
      this.host = grown(this.host, new Uint32Array(cap));
      this.size = grown(this.size, new Float64Array(cap));
      this.receivedMs = grown(this.receivedMs, new Float64Array(cap));
    }
    return i;
  }
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}

/** The batch's per-host sums over its valid lines except those at `skip` (repeated ids). */
export function sumsWithout(
  batch: CompactIndexBatch,
  skip: readonly number[],
): CompactIndexBatch['hostSums'] {
  const k = batch.hosts.length;
  const sums = {
    episodes: new Float64Array(k),
    bytes: new Float64Array(k),
    lastMs: new Float64Array(k).fill(Number.NaN),
  };
  const skipped = new Uint8Array(batch.count);
  for (const i of skip) skipped[i] = 1;
  for (let i = 0; i < batch.count; i++) {
    if (batch.status[i] !== LINE_OK || skipped[i] === 1) continue;
    const h = batch.host[i] as number;
    const size = batch.size[i] as number;
    const ms = batch.receivedMs[i] as number;
    sums.episodes[h] = (sums.episodes[h] as number) + 1;
    if (!Number.isNaN(size)) sums.bytes[h] = (sums.bytes[h] as number) + size;
    sums.lastMs[h] = newerMs(sums.lastMs[h] as number, ms);
  }
  return sums;
}
