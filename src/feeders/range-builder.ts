import { rangeCapacity } from './first-pass-protocol.js';
import { type BatchColumns, CompactBatchBuilder } from './index-compact.js';

/**
 * The builder of one first-pass range of `rangeBytes` (the scanner thread's, the main thread's,
 * the primer's): sized by `rangeCapacity`, over `columns` when given (a set the main thread faulted
 * in ahead), with its tail left as bytes (`deferTail`): the live state parses those lines only if
 * they are still the newest when it reads them (`IndexAggregates.pushRecentLater`). Parsing each
 * range's last 400 lines where it was scanned had V8 compile the whole record parse on both
 * threads while they scanned.
 */
export function rangeBuilder(rangeBytes: number, columns?: BatchColumns): CompactBatchBuilder {
  const builder = new CompactBatchBuilder(rangeCapacity(rangeBytes), columns);
  builder.deferTail = true;
  return builder;
}
