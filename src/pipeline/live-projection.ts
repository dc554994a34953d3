import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import type { StoredTotals } from '../catalog/ingest-store.js';
import { AlertAggregates } from '../feeders/alert-aggregates.js';
import { type RawLines, rawLines } from '../feeders/first-pass.js';
import { IndexAggregates } from '../feeders/index-aggregates.js';
import {
  type CompactIndexBatch,
  deferredTail,
  LINE_OK,
  sumsWithout,
  tailRecords,
} from '../feeders/index-compact.js';
import { parseIndexLine } from '../feeders/records.js';
import type { EpisodeRecord, UnsequencedEvent } from '../protocol/index.js';
import { RECENT_LIMIT } from '../protocol/index.js';

/**
 * The live state's projection of the ingest log: running totals and recent windows of the index
 * and the alerts, seeded from what the catalog committed (so a restart counts nothing twice), and
 * the events that tell clients. A backlog (bulk batch) is published as a snapshot, not one event
 * per line; `bulkChanged` is called after each so the owner can schedule one.
 */
export class LiveProjection implements IngestProjection {
  readonly index: IndexAggregates;
  readonly alerts: AlertAggregates;
  #version = 0;

  /**
   * @param publish appends one batch's events, in order (the bus folds them together).
   */
  constructor(
    stored: StoredTotals,
    private readonly publish: (events: readonly UnsequencedEvent[]) => void,
    private readonly bulkChanged: () => void,
  ) {
    this.index = new IndexAggregates(stored);
    this.alerts = new AlertAggregates(stored);
  }

  /**
   * Goes up whenever the totals or recent windows may have changed: a snapshot that finds it where
   * the last one did need not be built again to know it would say the same.
   */
  get version(): number {
    return this.#version;
  }

  apply(entry: IngestEntry): void {
    if (entry.source === 'alerts') {
      if (entry.kind === 'compact') {
        if (entry.accepted === 0) return;
        this.#version++;
        this.alerts.addCompact(entry.accepted, entry.recent, entry.hostLast);
        this.bulkChanged();
        return;
      }
      if (entry.records.length === 0) return;
      this.#version++;
      this.alerts.add(entry.records);
      if (entry.bulk) this.bulkChanged();
      else this.publish(entry.records.map((a) => ({ type: 'alert' as const, ...a })));
      return;
    }
    if (entry.kind === 'first_pass_done') return;
    if (entry.kind === 'compact') {
      this.#version++;
      this.applyCompact(entry.batch, entry.duplicateAt, entry.raw);
      this.bulkChanged();
      return;
    }
    if (entry.records.length === 0) return;
    this.#version++;
    this.index.add(entry.records);
    if (entry.bulk) this.bulkChanged();
    else this.publish(entry.records.map((r) => ({ type: 'episode' as const, ...r })));
  }

  /**
   * A first-pass batch: the scan summed it per host, so only a batch holding a repeated id is
   * re-summed; its last valid lines are the recent window.
   */
  private applyCompact(batch: CompactIndexBatch, duplicateAt: readonly number[], raw: RawLines): void {
    const sums = duplicateAt.length > 0 ? sumsWithout(batch, duplicateAt) : batch.hostSums;
    batch.hosts.forEach((name, k) => {
      const episodes = sums.episodes[k] as number;
      if (episodes === 0) return;
      this.index.addSums(this.index.host(name), episodes, sums.bytes[k] as number, sums.lastMs[k] as number);
    });
    const later = recentLater(batch, duplicateAt);
    if (later) this.index.pushRecentLater(later.count, later.load);
    else this.index.pushRecent(recentOf(batch, duplicateAt, raw));
  }
}

/**
 * `recentOf` of a batch whose tail the scanner thread left as bytes, to be parsed only if still in
 * the recent window when it is read (`pushRecentLater`): a million-line first pass parsed 53
 * batches' tails (≈ 0.15 s of this thread) for the last one's. Null when its repeats need the
 * batch read again (`recentOf`).
 */
function recentLater(
  batch: CompactIndexBatch,
  duplicateAt: readonly number[],
): { count: number; load: () => EpisodeRecord[] } | null {
  const { tailSpans: spans, tailBytes } = batch;
  if (!spans || !tailBytes) return null;
  const repeated = new Set(duplicateAt);
  let kept = 0;
  for (let k = 0; k < spans.length; k += 2) if (!repeated.has(spans[k] as number)) kept++;
  const accepted = validCount(batch) - duplicateAt.length;
  if (kept < Math.min(RECENT_LIMIT, accepted) && kept !== spans.length / 2) return null;
  // Only the tail's own bytes are held, not the batch (its columns move on to the catalog writer).
  return {
    count: Math.min(kept, RECENT_LIMIT),
    load: () => tailRecords(spans, tailBytes, repeated, RECENT_LIMIT).map((t) => t.record),
  };
}

/**
 * The batch's last accepted records, oldest first: up to RECENT_LIMIT of them. The scan keeps
 * the last TAIL_KEPT (2 × RECENT_LIMIT) valid lines whole; only when repeats drop more than
 * RECENT_LIMIT of them are the batch's lines parsed from the raw text (a batch ending in a
 * replayed run), so the window still holds RECENT_LIMIT distinct episodes when the batch has that many.
 */
export function recentOf(
  batch: CompactIndexBatch,
  duplicateAt: readonly number[],
  raw: RawLines,
): EpisodeRecord[] {
  deferredTail(batch);
  const repeated = new Set(duplicateAt);
  const tail = batch.tail.filter((t) => !repeated.has(t.index)).map((t) => t.record);
  const valid = validCount(batch);
  const accepted = valid - duplicateAt.length;
  if (tail.length >= Math.min(RECENT_LIMIT, accepted) || tail.length === batch.tail.length)
    return tail.slice(-RECENT_LIMIT);
  // Parse the batch's lines again, in order; its valid lines are the scan's OK lines, in order.
  const lines = rawLines(raw);
  const records: EpisodeRecord[] = [];
  for (const line of lines) {
    const r = parseIndexLine(line);
    if (r.ok) records.push(r.record);
  }
  if (records.length !== valid) return tail; // Both paths accept alike; if not, keep what is certain.
  const out: EpisodeRecord[] = [];
  let v = valid;
  for (let i = batch.count - 1; i >= 0 && out.length < RECENT_LIMIT; i--) {
    if (batch.status[i] !== LINE_OK) continue;
    v--;
    if (!repeated.has(i)) out.push(records[v] as EpisodeRecord);
  }
  return out.reverse();
}

function validCount(batch: CompactIndexBatch): number {
  let n = 0;
  for (let i = 0; i < batch.count; i++) if (batch.status[i] === LINE_OK) n++;
  return n;
}
