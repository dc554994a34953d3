/**
 * Decides whether an episode id is seen for the first time. Ids accepted in this run live in
 * memory until the catalog writer has committed them; older ones are looked up in the catalog.
 * On a cold start (empty catalog) nothing needs a lookup, which keeps the first pass over a large
 * index at the speed of parsing it.
 */
export class EpisodeIdTracker {
  private pending = new Set<string>();
  /** Lines the live feeder had consumed when each id was accepted is not tracked; a count suffices. */
  private linesAtLastAccept = 0;

  constructor(private lookup: ((episodeId: string) => boolean) | null) {}

  /** True (and remembered) when the id was never seen before. */
  accept(episodeId: string, linesConsumed: number): boolean {
    if (this.pending.has(episodeId)) return false;
    if (this.lookup?.(episodeId)) return false;
    this.pending.add(episodeId);
    this.linesAtLastAccept = linesConsumed;
    return true;
  }

  /**
   * The catalog writer has committed everything up to `committedLines` (same line stream as the
   * live feeder). Once it has passed the last accepted id, every pending id is in the catalog:
   * forget them and look ids up there instead, so memory does not grow with the index.
   */
  committed(committedLines: number, lookup: (episodeId: string) => boolean): void {
    if (this.pending.size === 0 || committedLines < this.linesAtLastAccept) return;
    this.pending = new Set();
    this.lookup = lookup;
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}
