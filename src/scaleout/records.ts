import type { DashboardEvent } from '../protocol/index.js';
import { DashboardError } from '../util/errors.js';

/** One stream entry: the event (its `seq` is the entry's id) and the receiver that appended it. */
export interface StreamRecord {
  receiver: string;
  event: DashboardEvent;
  /**
   * The event's JSON as the stream holds it plus its `seq`, when that is exactly what
   * `JSON.stringify(event)` gives (an object written by `append`, without a `seq` of its own):
   * whoever sends the event on need not stringify it again.
   */
  json?: string;
}

/** The seq of a stream entry id `<seq>-0`. */
export function seqOfId(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

/** One XRANGE/XREAD entry in RESP2 form, `[id, [field, value, …]]`, as a record. */
export function parseEntry(entry: unknown): StreamRecord {
  if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) {
    throw new DashboardError('bad_stream_entry', 'a stream entry is not [id, fields]', { entry });
  }
  const fields = entry[1] as unknown[];
  let receiver: string | undefined;
  let json: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'r') receiver = String(fields[i + 1]);
    else if (fields[i] === 'e') json = String(fields[i + 1]);
  }
  if (receiver === undefined || json === undefined) {
    throw new DashboardError('bad_stream_entry', `stream entry ${entry[0]} lacks its r or e field`, {
      id: entry[0],
    });
  }
  // The JSON was written by `append` from an UnsequencedEvent; the seq is the entry's id.
  const event = JSON.parse(json) as DashboardEvent;
  const ownSeq = Object.hasOwn(event, 'seq');
  event.seq = seqOfId(entry[0]);
  // `append` wrote JSON.stringify(event) of an event without a seq: the seq goes last.
  const canonical = !ownSeq && json.length > 2 && json.charCodeAt(0) === 0x7b && json.endsWith('}');
  return canonical
    ? { receiver, event, json: `${json.slice(0, -1)},"seq":${event.seq}}` }
    : { receiver, event };
}

/** A list of RESP2 entries as records, oldest first. */
export function parseEntries(entries: unknown): StreamRecord[] {
  if (entries === null || entries === undefined) return [];
  if (!Array.isArray(entries)) throw new DashboardError('bad_stream_entry', 'stream entries are not a list');
  return entries.map(parseEntry);
}
