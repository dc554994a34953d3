import { RECEIVER_NAME } from '../protocol/receivers.js';
import { DashboardError } from '../util/errors.js';

/** The namespace (Redis hash tag) when none is configured. */
export const DEFAULT_NAMESPACE = 'cis490';

const NAME = RECEIVER_NAME;

/**
 * The Redis keys of one shared log. Every key carries the same hash tag (`{namespace}`), so the
 * append script's keys live in one slot and the log works unchanged on a Redis Cluster later.
 */
export interface StreamKeys {
  /** Hash: `epoch` (created once, random) and `seq` (the last global seq handed out). */
  readonly meta: string;
  /** The stream: entry id `<seq>-0`, fields `r` (receiver) and `e` (the event's JSON, no `seq`). */
  readonly stream: string;
  /** Hash of one receiver's high-water marks for one source file (see `append-script.ts`). */
  mark(receiver: string, source: string): string;
  /**
   * One receiver's state snapshot, written by its agent at start and every few minutes: a hash
   * with `seq` (the global seq the snapshot is exact at: every event of this receiver with a
   * higher seq comes after it) and `state` (JSON). A replica starts from these plus the stream.
   */
  snapshot(receiver: string): string;
  /**
   * One receiver's agent heartbeat: a string (JSON `{ url, at, pid, version }`) with a TTL of a
   * few heartbeat intervals; gone or stale means the agent is down. `url` is where replicas proxy
   * episode details and downloads to.
   */
  heartbeat(receiver: string): string;
  /**
   * An API append's request id (`Idempotency-Key`), scoped by the caller (`phase:<id>`): a string
   * holding the seq its append got, with a TTL; set by the append script with the append.
   */
  idempotency(scopedKey: string): string;
  /** Set of every receiver name that ever appended (heartbeats expire; this does not). */
  readonly receivers: string;
  /**
   * Set of receivers retired for good, written by an admin (`SADD`): replicas no longer call them
   * offline while no agent writes their heartbeat. Their data stays in the view.
   */
  readonly retired: string;
}

/** A receiver name: 1–64 of `A-Z a-z 0-9 . _ -` (it appears in keys, logs and metric labels). */
export function checkReceiverName(receiver: string): string {
  if (!NAME.test(receiver)) {
    throw new DashboardError(
      'bad_receiver_name',
      `receiver name must match ${NAME}, got ${JSON.stringify(receiver)}`,
      {
        receiver,
      },
    );
  }
  return receiver;
}

export function streamKeys(namespace: string = DEFAULT_NAMESPACE): StreamKeys {
  if (!NAME.test(namespace)) {
    throw new DashboardError(
      'bad_namespace',
      `namespace must match ${NAME}, got ${JSON.stringify(namespace)}`,
      {
        namespace,
      },
    );
  }
  const tag = `{${namespace}}`;
  return {
    meta: `${tag}:meta`,
    stream: `${tag}:events`,
    // The source is a path relative to the data root: encoded so `:` or `{` in it cannot change
    // the key's shape or its hash tag.
    mark: (receiver, source) => `${tag}:mark:${checkReceiverName(receiver)}:${encodeURIComponent(source)}`,
    snapshot: (receiver) => `${tag}:snap:${checkReceiverName(receiver)}`,
    heartbeat: (receiver) => `${tag}:hb:${checkReceiverName(receiver)}`,
    receivers: `${tag}:receivers`,
    retired: `${tag}:retired`,
    idempotency: (scopedKey) => `${tag}:idem:${encodeURIComponent(scopedKey)}`,
  };
}
