import type { EpisodeRecord } from '../protocol/index.js';
import { RECENT_LIMIT } from '../protocol/index.js';
import { timestampMs } from '../util/time.js';
import { hash64 } from './id-hash-set.js';
import { excerpt, indexKey, parseIndexLine, parseObject, type RecordSkipReason } from './records.js';

/** Per-line outcome codes in a compact batch. */
export const LINE_OK = 0;
export const SKIP_CODES: readonly RecordSkipReason[] = ['malformed_json', 'not_object', 'missing_fields'];

/**
 * What the first pass needs of a batch of index lines, in typed arrays (transferable between
 * threads without copying): per line an outcome, the id's 64-bit hash, a host index, the size and
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
  /** Whole records of the last valid lines, with their line index in the batch. */
  tail: Array<{ index: number; record: EpisodeRecord }>;
  /** First rejected lines per reason, for the log. */
  rejected: Array<{ reason: RecordSkipReason; excerpt: string }>;
  /** Lines over the line limit skipped while reading a range (first pass only). */
  tooLong?: number;
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

/** Pure: lines → compact batch. Runs on the main thread or in a parse worker. */
export function compactIndexBatch(lines: readonly string[]): CompactIndexBatch {
  const n = lines.length;
  const status = new Uint8Array(n);
  const hashHi = new Uint32Array(n);
  const hashLo = new Uint32Array(n);
  const host = new Uint32Array(n);
  const size = new Float64Array(n);
  const receivedMs = new Float64Array(n);
  const hosts: string[] = [];
  const hostIndex = new Map<string, number>();
  const rejected: CompactIndexBatch['rejected'] = [];
  const rejectedPerReason = new Map<string, number>();
  let lastValid: number[] = [];

  for (let i = 0; i < n; i++) {
    const line = lines[i] as string;
    // The per-line parser's own pieces (parseObject, indexKey), so both paths accept alike; the
    // whole record is built only for the recent tail.
    let r: Key | null | undefined = fastKey(line);
    let reason: RecordSkipReason = 'missing_fields';
    if (r === undefined) {
      const parsed = parseObject(line);
      const key = parsed.ok ? indexKey(parsed.record) : null;
      if (!parsed.ok) reason = parsed.reason;
      r = key && parsed.ok ? { ...key, received: parsed.record.received_at_wall } : null;
    }
    if (!r) {
      status[i] = SKIP_CODES.indexOf(reason) + 1;
      const seen = rejectedPerReason.get(reason) ?? 0;
      if (seen < EXCERPTS_PER_REASON) rejected.push({ reason, excerpt: excerpt(line) });
      rejectedPerReason.set(reason, seen + 1);
      continue;
    }
    const [hi, lo] = hash64(r.episode_id);
    hashHi[i] = hi;
    hashLo[i] = lo;
    let h = hostIndex.get(r.host_id);
    if (h === undefined) {
      h = hosts.length;
      hosts.push(r.host_id);
      hostIndex.set(r.host_id, h);
    }
    host[i] = h;
    size[i] = r.size_bytes ?? Number.NaN;
    receivedMs[i] = timestampMs(r.received) ?? Number.NaN;
    lastValid.push(i);
    if (lastValid.length > RECENT_LIMIT * 2) lastValid = lastValid.slice(-RECENT_LIMIT);
  }
  const tail = lastValid.slice(-RECENT_LIMIT).map((index) => {
    const parsed = parseIndexLine(lines[index] as string);
    if (!parsed.ok) throw new Error('unreachable: line was valid');
    return { index, record: parsed.record };
  });
  return { count: n, status, hashHi, hashLo, host, hosts, size, receivedMs, tail, rejected };
}

/** The typed arrays of a batch, for postMessage's transfer list. */
export function transferables(b: CompactIndexBatch): ArrayBuffer[] {
  return [b.status, b.hashHi, b.hashLo, b.host, b.size, b.receivedMs].map((a) => a.buffer as ArrayBuffer);
}
