/**
 * One sort key's rows in the explorer's order under `sort=host` and `sort=status`
 * (`protocol/episode-filter.ts`): received time, then arrival, newest first for `asc` (rows
 * without a time after the timed ones) and the very reverse for `desc`. Shared by the catalog's
 * queries (arrival: the row id) and the replica's (arrival: the stream seq).
 */

/** One range of a (…, received_ms, arrival) index, read in `order`. */
export interface TimeRun {
  where: string;
  params: number[];
  order: string;
}

/**
 * The ranges that give a key's rows in that order, after the row `from` (its received time and
 * arrival; null: all of them): timed and untimed rows are ranges of their own, so each is read
 * along the index, never sorted. `arrival` names the arrival column.
 */
export function timeRunsAfter(
  order: 'asc' | 'desc',
  from: { ms: number | null; arrival: number } | null,
  arrival: string,
): TimeRun[] {
  const asc = order === 'asc';
  const tie = asc ? 'DESC' : 'ASC';
  const after = asc ? '<' : '>';
  const timed = (where: string, params: number[] = []): TimeRun => ({
    where,
    params,
    order: `received_ms ${tie}, ${arrival} ${tie}`,
  });
  const untimed = (where: string, params: number[] = []): TimeRun => ({
    where,
    params,
    order: `${arrival} ${tie}`,
  });
  if (from === null) {
    const runs = [timed('received_ms IS NOT NULL'), untimed('received_ms IS NULL')];
    return asc ? runs : runs.reverse();
  }
  if (from.ms !== null) {
    const runs = [
      untimed(`received_ms = ? AND ${arrival} ${after} ?`, [from.ms, from.arrival]),
      timed(`received_ms ${after} ?`, [from.ms]),
    ];
    if (asc) runs.push(untimed('received_ms IS NULL'));
    return runs;
  }
  const runs = [untimed(`received_ms IS NULL AND ${arrival} ${after} ?`, [from.arrival])];
  if (!asc) runs.push(timed('received_ms IS NOT NULL'));
  return runs;
}
