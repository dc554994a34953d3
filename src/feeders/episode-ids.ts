import { IdHashSet } from './id-hash-set.js';

/**
 * Decides whether an episode id is seen for the first time (the totals count unique ids).
 *
 * The live feeder and the catalog writer read the same lines independently, so the catalog may
 * already hold the very line being decided. Hence two sources: ids accepted in this run are kept
 * here (as 64-bit hashes, 16 bytes each), and the catalog is asked only about ids committed by
 * EARLIER runs. On a cold start (empty catalog) there is nothing earlier, so no lookups at all:
 * the first pass over a large index runs at the speed of parsing it.
 */
export class EpisodeIdTracker {
  private readonly seenThisRun = new IdHashSet(4096);

  /** @param committedBefore true when an earlier run committed the id; null when the catalog was empty at start. */
  constructor(private readonly committedBefore: ((episodeId: string) => boolean) | null) {}

  /** True (and remembered) when the id was never seen before. */
  accept(episodeId: string): boolean {
    // Remembered either way: a repeat of an id an earlier run committed needs no second lookup.
    if (!this.seenThisRun.add(episodeId)) return false;
    return !this.committedBefore?.(episodeId);
  }

  /**
   * The first pass's variant, on a hash computed by a parse worker. Only valid on a cold start
   * (nothing committed before): it consults no catalog.
   */
  acceptHash(hi: number, lo: number): boolean {
    return this.seenThisRun.addHash(hi, lo);
  }

  /**
   * `acceptHash` over a compact batch's valid lines (`status` 0), in order: the indexes of the
   * lines whose id was seen before. Only valid on a cold start, as `acceptHash`.
   */
  acceptHashes(hi: Uint32Array, lo: Uint32Array, status: Uint8Array, count: number): number[] {
    return this.seenThisRun.addBatch(hi, lo, status, count);
  }

  /** Room for `n` ids in all (a first pass that can estimate its lines). */
  reserve(n: number): void {
    this.seenThisRun.reserve(n);
  }

  /** True when ids need no catalog lookup (cold start): the compact first pass may be used. */
  get cold(): boolean {
    return this.committedBefore === null;
  }

  get rememberedCount(): number {
    return this.seenThisRun.size;
  }
}
