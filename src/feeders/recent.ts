/**
 * A newest-first window after a batch in file order: the batch's last record comes first, and the
 * window keeps at most `limit` entries.
 */
export function prependNewest<T>(window: readonly T[], batch: readonly T[], limit: number): T[] {
  const n = batch.length;
  if (n === 0) return window.slice();
  if (n >= limit) return batch.slice(n - limit).reverse();
  return batch
    .slice()
    .reverse()
    .concat(window.slice(0, limit - n));
}
