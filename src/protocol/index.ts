/**
 * The wire protocol: every event and state type the server sends and the web app reads.
 *
 * Field names are the Python dashboard's (snake_case) so existing widgets and scripts keep
 * working. The server and the web app both import this module (the web app type-only, plus the
 * pure reducer in `./reduce.ts`), so the two can never disagree on a shape.
 */

/** How many recent episodes / alerts the state carries (newest first). */
export const RECENT_LIMIT = 200;

/** WebSocket close code for a client whose send queue passed the cap; it may resume with `?since=`. */
export const CLOSE_SLOW_CLIENT = 4000;
/** WebSocket close code when the server is shutting down (standard "going away"). */
export const CLOSE_GOING_AWAY = 1001;
/** WebSocket close code when the read token is missing or wrong. */
export const CLOSE_UNAUTHORIZED = 4001;

/** One received episode, as in `index.jsonl`, normalised. */
export interface EpisodeRecord {
  episode_id: string;
  host_id: string;
  /** Hex sha256 of the tarball, as the receiver wrote it; null when absent. */
  sha256: string | null;
  size_bytes: number | null;
  /** ISO-8601 UTC; `received_at_wall` given as epoch seconds is converted. Null when absent/unparseable. */
  received_at: string | null;
  /** Path of the tarball relative to the data root, when the index line names one. */
  path?: string;
  /** Unknown fields of the index line, passed through untouched. */
  extra?: Record<string, unknown>;
  /**
   * Scale-out only (`serve --redis`): the receiver (agent `--receiver NAME`) whose data root holds
   * this record. Absent on a single box.
   */
  receiver?: string;
}

/** One alert, as in `alerts.jsonl` (`host` becomes `host_id`, `detected_at_wall` becomes `detected_at`). */
export interface AlertRecord {
  host_id: string | null;
  symptom: string | null;
  detail: string | null;
  suggested_fix: string | null;
  /** ISO-8601 UTC; epoch seconds are converted. */
  detected_at: string | null;
  dedup_key: string | null;
  extra?: Record<string, unknown>;
  /** Scale-out only: the receiver whose `alerts.jsonl` held this line (absent on a single box). */
  receiver?: string;
}

/** Per-host health from `health/<host_id>.json`; the file's fields are passed through. */
export interface HostHealth {
  host_id: string;
  /** When the dashboard last read the file (ISO-8601). */
  read_at: string;
  /** The file's modification time (ISO-8601): a heartbeat that stopped shows here. */
  file_mtime: string;
  /** The parsed JSON object from the file. */
  data: Record<string, unknown>;
}

/** What is on disk under `episodes/<host_id>/` (only `*.tar.zst` files count). */
export interface HostDisk {
  files: number;
  bytes: number;
}

/** Per-host summary of what the index says. */
export interface HostIndexed {
  episodes: number;
  bytes: number;
  /** `received_at` of the newest episode of this host (ISO-8601), null when unknown. */
  last_received_at: string | null;
}

/** A live phase transition pushed by the orchestrator (`POST /api/phase`). */
export interface PhaseTransition {
  host_id: string;
  episode_id: string | null;
  phase: string;
  /** ISO-8601 time of the transition (the orchestrator's, or receipt time when it sent none). */
  at: string;
}

/** Per-phase aggregation: label counts and seconds spent. */
export interface PhaseTotals {
  counts: Record<string, number>;
  weighted_seconds: Record<string, number>;
  sampled_episodes: number;
  total_labels: number;
}

/** The dataset phase mix (Baseline scene). */
export interface PhaseMix extends PhaseTotals {
  population_episodes: number;
  /** Breakdown per host (same fields, population counted per host). */
  per_host: Record<string, PhaseTotals & { population_episodes: number }>;
  /** Episodes skipped, by reason (`truncated`, `not_tar`, `no_labels`, `too_large`, ...). */
  skipped: Record<string, number>;
  /** ISO-8601 time the mix was computed. */
  computed_at: string;
  /** `all` (whole population) or the sample size asked for. */
  mode: 'all' | number;
}

/** The snapshot part of the state: what a `snapshot` event carries. */
export interface Snapshot {
  /** Unique episode ids (with a host) seen in the index, over all time, rotations included. */
  total_episodes: number;
  /** Alert lines accepted over all time. */
  total_alerts: number;
  /** Sum of `size_bytes` over unique episodes. */
  total_bytes: number;
  /** `*.tar.zst` files on disk per host (the seed's `host_counts`). */
  host_counts: Record<string, number>;
  /** Newest first, at most RECENT_LIMIT. */
  recent_episodes: EpisodeRecord[];
  /** Bytes of `*.tar.zst` files on disk per host. */
  host_bytes: Record<string, number>;
  /** Per-host counts from the index. */
  hosts_indexed: Record<string, HostIndexed>;
  /** Newest first, at most RECENT_LIMIT. */
  recent_alerts: AlertRecord[];
  /** Latest alert per host. */
  host_last_alert: Record<string, AlertRecord>;
  /** Per-host health, keyed by host id. */
  health: Record<string, HostHealth>;
  /** True once the first pass over the data root is done and the tailers have caught up. */
  ready: boolean;
  /**
   * Episodes by integrity status (`ok`, `missing`, `unindexed`, `corrupt`, `unverified`), over all
   * hosts and per host, from the catalog's verifier; null until the catalog has counted.
   */
  integrity: IntegrityCounts | null;
}

/** Counts of episodes by integrity status. */
export interface IntegrityCounts {
  total: Partial<Record<'ok' | 'missing' | 'unindexed' | 'corrupt' | 'unverified', number>>;
  hosts: Record<string, Partial<Record<'ok' | 'missing' | 'unindexed' | 'corrupt' | 'unverified', number>>>;
}

/**
 * The persistent state: the latest snapshot, the phase mix and the live phases, merged (never
 * replaced) as events arrive.
 */
export interface DashboardState extends Snapshot {
  phase_mix: PhaseMix | null;
  /** Current phase per host from orchestrator events. */
  live_phases: Record<string, PhaseTransition>;
  /** Whether the data root can be read; null until the server first looked. */
  data_root: DataRootStatus | null;
  /** Operators' acknowledgements and silences, keyed by `dedup_key` (see `./alerts.ts`). */
  alert_actions: Record<string, AlertAction>;
  /** The server's host status thresholds (`--host-thresholds`); null: the defaults. */
  host_thresholds: HostThresholds | null;
  /**
   * Scale-out only (`serve --redis`): each receiver's share of the totals, so a receiver's
   * snapshot replaces its own part of the sums and no other. Absent on a single box. Host keys of
   * the maps above are then `<receiver>/<host_id>` (see `hostKey` in ./reduce.ts).
   */
  receivers?: Record<string, ReceiverPart>;
}

/** One receiver's part of a scale-out state (see `DashboardState.receivers`). */
export interface ReceiverPart {
  total_episodes: number;
  total_alerts: number;
  total_bytes: number;
  ready: boolean;
  /** The receiver's integrity totals (its hosts are in `integrity.hosts`), null before it counted. */
  integrity: IntegrityCounts['total'] | null;
  /** The receiver's own phase mix (per-host keys qualified), merged into `phase_mix`. */
  phase_mix: PhaseMix | null;
}

/** Whether the data root is there and readable (a missing root must not look like an empty one). */
export interface DataRootStatus {
  /** The data root's absolute path, as the server was told. */
  path: string;
  ok: boolean;
  /** Why not, in one sentence (`does not exist`, `is not a directory`, `cannot be read: EACCES`). */
  error: string | null;
  /** ISO-8601 time of the check that found this status. */
  since: string;
}

/**
 * An operator's answer to an alert group (`dedup_key`): `acknowledge` (someone is on it: the group
 * stays acknowledged until a newer occurrence arrives or its condition clears) or `silence` (not
 * counted as open until `until`, whatever arrives).
 */
export interface AlertAction {
  dedup_key: string;
  /** On a replica (`serve --redis`): the receiver whose group it is (the state keys it `<receiver>/<dedup_key>`). */
  receiver?: string;
  kind: 'acknowledge' | 'silence';
  /** Who did it (free text, as the operator typed it). */
  by: string;
  /** ISO-8601: when. */
  at: string;
  /** ISO-8601: a silence ends then; an acknowledgement may carry one too (null: until resolved). */
  until: string | null;
  note: string | null;
}

// ───────────────────────────── events ─────────────────────────────

interface Sequenced {
  /** Monotonically increasing within one server epoch. */
  seq: number;
}

/** A new episode line in `index.jsonl` (first sighting of its id). */
export interface EpisodeEvent extends Sequenced, EpisodeRecord {
  type: 'episode';
}
/** A new alert line in `alerts.jsonl`. */
export interface AlertEvent extends Sequenced, AlertRecord {
  type: 'alert';
}
/** The whole snapshot part of the state, periodically and after bulk loads; replaces those fields. */
export interface SnapshotEvent extends Sequenced, Snapshot {
  type: 'snapshot';
  /** Scale-out only: the receiver whose snapshot this is; it replaces that receiver's part only. */
  receiver?: string;
}
/** A recomputed dataset phase mix. */
export interface PhaseMixEvent extends Sequenced, PhaseMix {
  type: 'phase_mix';
  /** Scale-out only: the receiver whose mix this is; the state's mix is the merge over receivers. */
  receiver?: string;
}
/** A live phase transition from the orchestrator. */
export interface PhaseEvent extends Sequenced, PhaseTransition {
  type: 'phase';
}
/** A host's on-disk episode files changed (`files` 0 and `bytes` 0 when the folder went away). */
export interface HostDiskEvent extends Sequenced, HostDisk {
  type: 'host_disk';
  host_id: string;
  /** Scale-out only: the receiver whose `episodes/<host_id>/` this is. */
  receiver?: string;
}
/** A host's `health/<host>.json` was (re)read; `health` null when the file went away. */
export interface HealthEvent extends Sequenced {
  type: 'health';
  host_id: string;
  health: HostHealth | null;
  /** Scale-out only: the receiver whose `health/<host_id>.json` this is. */
  receiver?: string;
}
/** Readiness changed (first pass done / lost). */
export interface ReadyEvent extends Sequenced {
  type: 'ready';
  ready: boolean;
  /** Scale-out only: the receiver whose readiness this is; the state is ready when all are. */
  receiver?: string;
}

/** The data root appeared, vanished or became unreadable. */
export interface DataRootEvent extends Sequenced, DataRootStatus {
  type: 'data_root';
  /** Scale-out only: the receiver whose data root this is (a replica has none of its own: ignored). */
  receiver?: string;
}
/** An operator acknowledged or silenced an alert group (`action` set) or cleared that (`action` null). */
export interface AlertActionEvent extends Sequenced {
  type: 'alert_action';
  dedup_key: string;
  action: AlertAction | null;
}

/** The host status thresholds the server runs with (published once at start). */
/** Host status thresholds (`--host-thresholds`; rules in host-status.ts). */
export interface HostThresholds {
  /** Minutes without an episode: warning / critical. */
  stale_warn_min: number;
  stale_crit_min: number;
  /** Minutes since the last heartbeat: warning / critical. */
  heartbeat_warn_min: number;
  heartbeat_crit_min: number;
  /** Free share of the disk below which: warning / critical (0–1). */
  disk_warn: number;
  disk_crit: number;
  /** Shipper queue depth above which: warning / critical. */
  queue_warn: number;
  queue_crit: number;
}

export interface HostThresholdsEvent extends Sequenced {
  type: 'host_thresholds';
  thresholds: HostThresholds;
}

/** Every event the server publishes. */
export type DashboardEvent =
  | EpisodeEvent
  | AlertEvent
  | SnapshotEvent
  | PhaseMixEvent
  | PhaseEvent
  | HostDiskEvent
  | HealthEvent
  | ReadyEvent
  | DataRootEvent
  | AlertActionEvent
  | HostThresholdsEvent;

export type EventType = DashboardEvent['type'];

/** An event before the bus stamps its `seq`. */
export type UnsequencedEvent = DashboardEvent extends infer E
  ? E extends DashboardEvent
    ? Omit<E, 'seq'>
    : never
  : never;

/**
 * The first message on every WebSocket connection: the state as of `seq`. Every later message is
 * a `DashboardEvent` with a larger `seq`, without gap or duplicate.
 */
export interface HelloMessage {
  type: 'hello';
  /** Changes whenever the server restarts; a client holding another epoch must replace its state. */
  epoch: string;
  seq: number;
  state: DashboardState;
  /** True when this hello answers a `?since=` that could not be replayed (aged out or other epoch). */
  reset?: boolean;
  /**
   * The period of `heartbeat` messages on this socket, in ms. A client that hears nothing (event or
   * heartbeat) for STALE_AFTER_BEATS periods treats the socket as stale and reconnects.
   */
  heartbeat_ms?: number;
}

/**
 * Sent every `heartbeat_ms` on each socket, between events: proof that the server's event loop
 * runs (a frozen process keeps its TCP sockets open, and WebSocket pings are invisible to a
 * browser's script). Not an event: no `seq` of its own, never replayed.
 */
export interface HeartbeatMessage {
  type: 'heartbeat';
  /** ISO-8601 server time. */
  at: string;
  /** The server's latest seq when it was sent (every event up to it was sent before). */
  seq: number;
  /**
   * Scale-out only (a replica, `serve --redis`): every receiver's agent as this replica sees it,
   * keyed by receiver. Also sent once right after each hello. Absent on a single box.
   */
  agents?: Record<string, AgentStatus>;
}

/**
 * A receiver's agent as a replica sees it: by its heartbeat key in Redis, which the agent writes
 * every `--heartbeat-interval` and which expires three intervals after its last write (Redis
 * counts the time, so no two machines' clocks are compared).
 */
export interface AgentStatus {
  /** Its heartbeat key is there. */
  up: boolean;
  /**
   * ISO-8601, the replica's clock: when this replica saw it come up or go down; null when it has
   * been so since the replica started watching.
   */
  since: string | null;
  /** ISO-8601, the agent's clock: the newest heartbeat this replica read from it; null: none. */
  last_heartbeat: string | null;
  /**
   * Present while two agents write this receiver's heartbeat (two agents started with one
   * `--receiver` name, whose data mixes in one receiver): each one's URL and pid.
   */
  conflict?: Array<{ url: string; pid: number }>;
}

/** Default period of `heartbeat` messages. */
export const HEARTBEAT_INTERVAL_MS = 2000;
/** Missed heartbeat periods after which a client calls its socket stale (2 s x 3 = 6 s < 10 s). */
export const STALE_AFTER_BEATS = 3;

/** Everything the server sends on `/ws`. */
export type ServerMessage = HelloMessage | HeartbeatMessage | DashboardEvent;

/**
 * The value under `key` when it is the object's OWN property. Maps from the wire are plain
 * objects keyed by data (host ids, dedup keys): `obj['constructor']` would otherwise read
 * `Object.prototype.constructor`.
 */
export function own<T>(obj: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * A map keyed by data from the root (host ids, dedup keys, reasons): an object without a prototype,
 * so `constructor` or `toString` is only ever a key it holds, and assigning `__proto__` stores a key
 * instead of replacing the prototype. With `from`, starts as a copy of its own keys.
 */
export function dict<T>(from?: Readonly<Record<string, T>> | null): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  if (from) for (const key of Object.keys(from)) out[key] = from[key] as T;
  return out;
}

/**
 * A copy of `obj` with `key` set to `value` (removed when `value` is undefined), as an own data
 * property even for keys like `__proto__`, which plain assignment would turn into a prototype.
 */
export function withKey<T>(
  obj: Readonly<Record<string, T>>,
  key: string,
  value: T | undefined,
): Record<string, T> {
  const copy: Record<string, T> = { ...obj };
  if (value === undefined) delete copy[key];
  else Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** The empty state a server starts from and a client shows before its first hello. */
export function emptyState(): DashboardState {
  return {
    total_episodes: 0,
    total_alerts: 0,
    total_bytes: 0,
    host_counts: {},
    recent_episodes: [],
    host_bytes: {},
    hosts_indexed: {},
    recent_alerts: [],
    host_last_alert: {},
    health: {},
    ready: false,
    integrity: null,
    phase_mix: null,
    live_phases: {},
    data_root: null,
    alert_actions: {},
    host_thresholds: null,
  };
}

/** Body of `POST /api/phase`. */
export interface PhasePost {
  host_id: string;
  phase: string;
  episode_id?: string | null;
  /** ISO-8601 or epoch seconds; defaults to receipt time. */
  at?: string | number;
}

/** Every HTTP 4xx/5xx body. */
export interface ApiError {
  error: {
    /** Stable machine-readable code, e.g. `bad_query`, `not_found`, `unauthorized`. */
    code: string;
    /** One human sentence saying what is wrong. */
    message: string;
  };
}
