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
}

const EXCERPTS_PER_REASON = 3;

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
    const parsed = parseObject(line);
    const r = parsed.ok ? indexKey(parsed.record) : null;
    if (!r) {
      const reason: RecordSkipReason = parsed.ok ? 'missing_fields' : parsed.reason;
      status[i] = SKIP_CODES.indexOf(reason) + 1;
      const seen = rejectedPerReason.get(reason) ?? 0;
      if (seen < EXCERPTS_PER_REASON) rejected.push({ reason, excerpt: excerpt(line) });
      rejectedPerReason.set(reason, seen + 1);
      continue;
    }
    const obj = (parsed as { record: Record<string, unknown> }).record;
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
    receivedMs[i] = timestampMs(obj.received_at_wall) ?? Number.NaN;
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
