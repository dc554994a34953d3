import type { DashboardState } from '../protocol/index.js';
import { DashboardError } from '../util/errors.js';
import type { RedisStreamLog } from './redis-stream-log.js';
import { LuaScript } from './scripts.js';

/**
 * What one receiver contributes to the view, as its agent reduced its own events (the protocol's
 * `applyEvent` over every event it appended): the index and alert totals and windows, the disk and
 * health of its hosts, its phase mix, its data root's status and whether its first pass is appended.
 * Fields that are no receiver's (live phases, alert actions, thresholds, integrity) are not in it.
 */
export type ReceiverState = Pick<
  DashboardState,
  | 'total_episodes'
  | 'total_alerts'
  | 'total_bytes'
  | 'host_counts'
  | 'recent_episodes'
  | 'host_bytes'
  | 'hosts_indexed'
  | 'recent_alerts'
  | 'host_last_alert'
  | 'health'
  | 'phase_mix'
  | 'data_root'
  | 'ready'
>;

/** The fields of a `ReceiverState`, in order. */
export const RECEIVER_STATE_FIELDS = [
  'total_episodes',
  'total_alerts',
  'total_bytes',
  'host_counts',
  'recent_episodes',
  'host_bytes',
  'hosts_indexed',
  'recent_alerts',
  'host_last_alert',
  'health',
  'phase_mix',
  'data_root',
  // Whether the agent's first pass was appended when it wrote the snapshot (a snapshot without
  // it, an earlier agent's, seeds the receiver ready).
  'ready',
] as const satisfies readonly (keyof ReceiverState)[];

/**
 * An event as its receiver's own state takes it: without `receiver`. The stream's events name
 * their receiver, and the reducer keys what such an event touches `<receiver>/<host>` (a merged
 * view's keys); a receiver's own state keys its hosts by their ids, as a replica expects when it
 * folds the snapshot in under `<receiver>/` (an agent that reduced its events with the receiver
 * named stored `rackA/host-01`, which replicas then showed as `rackA/rackA/host-01`).
 */
export function ownEvent<E extends object>(event: E): E {
  if (!('receiver' in event)) return event;
  const { receiver: _r, ...own } = event;
  return own as E;
}

/** The host-keyed maps of a receiver's state. */
const HOST_KEYED = ['host_counts', 'host_bytes', 'hosts_indexed', 'host_last_alert', 'health'] as const;

/**
 * A stored receiver state with its hosts under their own ids: a snapshot written by an agent of an
 * earlier version holds them as `<receiver>/<host>` (see `ownEvent`), and is read as if it did not.
 */
export function ownReceiverState<S extends Partial<ReceiverState>>(stored: S, receiver: string): S {
  const prefix = `${receiver}/`;
  const strip = (map: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined => {
    if (map === undefined || !Object.keys(map).some((k) => k.startsWith(prefix))) return map;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(map)) {
      const key = k.startsWith(prefix) ? k.slice(prefix.length) : k;
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const out: Record<string, unknown> = { ...stored };
  for (const field of HOST_KEYED) if (field in stored) out[field] = strip(stored[field]);
  const mix = stored.phase_mix;
  if (mix) out.phase_mix = { ...mix, per_host: strip(mix.per_host) ?? mix.per_host };
  return out as S;
}

/** The receiver's part of a full state. */
export function receiverStateOf(state: DashboardState): ReceiverState {
  const out: Partial<Record<keyof ReceiverState, unknown>> = {};
  for (const k of RECEIVER_STATE_FIELDS) out[k] = state[k];
  return out as ReceiverState;
}

/** One receiver's snapshot as stored under `snapshot(receiver)`. */
export interface ReceiverSnapshot {
  receiver: string;
  /**
   * The global seq the state is exact at: it holds every event of this receiver with a seq at or
   * below it and none above (the agent writes it while none of its appends is in flight).
   */
  seq: number;
  /** The stream epoch the seq belongs to. */
  epoch: string;
  /** ISO-8601 time it was written. */
  at: string;
  state: ReceiverState;
}

/**
 * Writes a receiver's snapshot at the stream's current last seq, in one step with reading it (so
 * no append can slip in between), and adds the receiver to the `receivers` set. Refused when the
 * stream's epoch is not `epoch` (the state belongs to the old one).
 *
 * KEYS: 1 meta, 2 snapshot, 3 receivers. ARGV: 1 epoch, 2 state JSON, 3 receiver, 4 time.
 */
const SNAPSHOT_SCRIPT = new LuaScript(`
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {'epoch_changed', epoch or ''} end
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
redis.call('HSET', KEYS[2], 'seq', seq, 'epoch', epoch, 'state', ARGV[2], 'at', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
return {'written', epoch, seq}
`);

export type SnapshotWriteResult =
  | { status: 'written'; seq: number; epoch: string }
  | { status: 'epoch_changed'; epoch: string };

/**
 * Stores `state` as the receiver's snapshot at the stream's last seq. The caller guarantees the
 * state holds exactly the receiver's events up to that seq: none of its appends in flight.
 */
export async function writeSnapshot(
  log: RedisStreamLog,
  receiver: string,
  epoch: string,
  state: ReceiverState,
  now: Date = new Date(),
): Promise<SnapshotWriteResult> {
  const keys = log.keys;
  const reply = (await log.runScript(
    SNAPSHOT_SCRIPT,
    [keys.meta, keys.snapshot(receiver), keys.receivers],
    [epoch, JSON.stringify(state), receiver, now.toISOString()],
  )) as [string, string, string?];
  if (reply[0] === 'written') return { status: 'written', epoch: reply[1], seq: Number(reply[2]) };
  return { status: 'epoch_changed', epoch: reply[1] };
}

/** A receiver's snapshot, or null when it has none (or it cannot be read as one). */
export async function readSnapshot(log: RedisStreamLog, receiver: string): Promise<ReceiverSnapshot | null> {
  const fields = (await log.command(['HGETALL', log.keys.snapshot(receiver)])) as string[];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const seq = Number(map.get('seq'));
  const json = map.get('state');
  if (json === undefined || !Number.isSafeInteger(seq)) return null;
  let state: ReceiverState;
  try {
    state = JSON.parse(json) as ReceiverState;
  } catch (err) {
    throw new DashboardError(
      'bad_snapshot',
      `the snapshot of receiver ${receiver} is not JSON`,
      { receiver },
      { cause: err },
    );
  }
  return { receiver, seq, epoch: map.get('epoch') ?? '', at: map.get('at') ?? '', state };
}

/** Every receiver that ever wrote a snapshot (the `receivers` set), sorted. */
export async function listReceivers(log: RedisStreamLog): Promise<string[]> {
  const members = (await log.command(['SMEMBERS', log.keys.receivers])) as string[];
  return [...members].sort();
}
