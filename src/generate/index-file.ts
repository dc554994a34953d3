import type { HostIndexed } from '../protocol/index.js';
import { normalizeTimestamp } from '../util/time.js';
import { withWriter } from './chunked-writer.js';
import { makeEpisodeId } from './episode.js';
import { formatLine, type LineStyle, wallAs } from './line-style.js';
import { formatIndexLine, type IndexLine } from './records.js';
import { hex8, hexBatch, mix32, type Rng } from './rng.js';

/** A tarball already written, as its index line will describe it. */
export interface IndexedTarball {
  episode_id: string;
  host_id: string;
  /** Relative to the data root. */
  path: string;
  sha256: string;
  size_bytes: number;
  /** As written in the index (ISO-8601 or epoch seconds). */
  received_at_wall: string | number;
}

export interface WriteIndexParams {
  /** Path of `index.jsonl`. */
  file: string;
  hosts: readonly string[];
  /** Relative share of index-only lines per host (same order as `hosts`). */
  weights: readonly number[];
  /** Tarballs in received order: the index's last lines. */
  written: readonly IndexedTarball[];
  /** Lines of older, index-only episodes to write first. */
  indexOnly: number;
  /** Mean `size_bytes` of index-only lines. */
  typicalSize: number;
  /** Index-only history ends an hour before this (ms since the epoch). */
  historyEndMs: number;
  /** Index-only ids use counters from here on (mixed with `idKey`), so they never collide. */
  firstIdCounter: number;
  idKey: number;
  rng: Rng;
  /** How the lines are written. @default 'python' */
  style?: LineStyle;
  onProgress?: (progress: { stage: 'index'; done: number; total: number }) => void;
}

export interface IndexTotals {
  totalBytes: number;
  hosts: Record<string, HostIndexed>;
}

/**
 * `index.jsonl`: first `indexOnly` lines of older episodes whose tarballs are gone (no `path`,
 * plausible sha and size), then the tarballs in received order.
 */
export async function writeIndex(p: WriteIndexParams): Promise<IndexTotals> {
  const { hosts, weights, written, indexOnly, rng, idKey, onProgress } = p;
  const style = p.style ?? 'python';
  // The style's own draws (key orders, time forms) come from a fork: the episodes are the same
  // in every style.
  const styleRng = rng.fork(11);
  const format = (line: IndexLine) =>
    style === 'compact' ? formatIndexLine(line) : formatLine(style, line, styleRng);
  const totals: IndexTotals = { totalBytes: 0, hosts: {} };
  // Lines are in received order, so a host's last line is its newest; normalising only that one
  // keeps a million-line index cheap.
  const lastWall: Record<string, string | number> = {};
  const count = (line: IndexLine): void => {
    totals.totalBytes += line.size_bytes;
    let h = totals.hosts[line.host_id];
    if (h === undefined) {
      h = { episodes: 0, bytes: 0, last_received_at: null };
      totals.hosts[line.host_id] = h;
    }
    h.episodes += 1;
    h.bytes += line.size_bytes;
    lastWall[line.host_id] = line.received_at_wall;
  };
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const totalLines = indexOnly + written.length;
  // History: a line about every 40 s / hosts, the last an hour before `historyEndMs`.
  const stepMs = Math.max(1_000, Math.round(40_000 / hosts.length));
  let atMs = p.historyEndMs - 3_600_000 - indexOnly * stepMs;
  let done = 0;
  await withWriter(p.file, async (w) => {
    const BATCH = 4096;
    for (let start = 0; start < indexOnly; start += BATCH) {
      const n = Math.min(BATCH, indexOnly - start);
      const shas = hexBatch(rng, n, 64);
      for (let j = 0; j < n; j++) {
        atMs += rng.int(1, 2 * stepMs);
        const hostId = hosts[rng.weighted(weights, totalWeight)] as string;
        const startMs = atMs - rng.int(150_000, 700_000);
        const line: IndexLine = {
          episode_id: makeEpisodeId(startMs, hex8(mix32((p.firstIdCounter + start + j) ^ idKey))),
          host_id: hostId,
          sha256: shas[j] as string,
          size_bytes: Math.max(512, Math.round(p.typicalSize * rng.range(0.7, 1.3))),
          received_at_wall: wallAs(style, atMs, styleRng),
        };
        count(line);
        const text = format(line);
        if (!w.push(text)) await w.write(text);
      }
      done += n;
      onProgress?.({ stage: 'index', done, total: totalLines });
    }
    for (const e of written) {
      const line: IndexLine = {
        episode_id: e.episode_id,
        host_id: e.host_id,
        sha256: e.sha256,
        size_bytes: e.size_bytes,
        received_at_wall: e.received_at_wall,
        path: e.path,
      };
      count(line);
      const text = format(line);
      if (!w.push(text)) await w.write(text);
      done++;
    }
  });
  for (const [hostId, wall] of Object.entries(lastWall)) {
    const h = totals.hosts[hostId];
    if (h) h.last_received_at = normalizeTimestamp(wall);
  }
  onProgress?.({ stage: 'index', done, total: totalLines });
  return totals;
}
