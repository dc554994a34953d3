import {
  type AlertRecord,
  type DashboardEvent,
  type DashboardState,
  type EpisodeRecord,
  type HelloMessage,
  type HostIndexed,
  own,
  RECENT_LIMIT,
  type ReceiverPart,
  withKey,
} from './index.js';
import {
  applyReceiverPhaseMix,
  applyReceiverReady,
  applyReceiverSnapshot,
  emptyPart,
  hostKey,
} from './receivers.js';

/**
 * Applies one event to a state and returns the new state. Pure and shared by the server's bus and
 * the web app's store, so a client that starts from a `hello` and applies every later event holds
 * exactly the server's state. Returns a new top-level object; untouched fields are shared.
 */
export function applyEvent(state: DashboardState, event: DashboardEvent): DashboardState {
  switch (event.type) {
    case 'episode':
    case 'alert':
      // One definition of what a record does to the state, whether it comes alone or in a run.
      return applyRecordRun(state, [event], 0, 1);
    case 'snapshot': {
      // Merge, never replace: the phase mix and live phases survive snapshot cycles.
      const { type: _t, seq: _s, receiver, ...snapshot } = event;
      if (receiver !== undefined) return applyReceiverSnapshot(state, receiver, snapshot);
      return { ...state, ...snapshot };
    }
    case 'phase_mix': {
      const { type: _t, seq: _s, receiver, ...mix } = event;
      if (receiver !== undefined) return applyReceiverPhaseMix(state, receiver, mix);
      return { ...state, phase_mix: mix };
    }
    case 'phase': {
      const { type: _t, seq: _s, ...transition } = event;
      return { ...state, live_phases: withKey(state.live_phases, transition.host_id, transition) };
    }
    case 'host_disk': {
      const gone = event.files === 0 && event.bytes === 0;
      const key = hostKey(event.receiver, event.host_id);
      return {
        ...state,
        host_counts: withKey(state.host_counts, key, gone ? undefined : event.files),
        host_bytes: withKey(state.host_bytes, key, gone ? undefined : event.bytes),
      };
    }
    case 'health':
      return {
        ...state,
        health: withKey(state.health, hostKey(event.receiver, event.host_id), event.health ?? undefined),
      };
    case 'ready':
      if (event.receiver !== undefined) return applyReceiverReady(state, event.receiver, event.ready);
      return { ...state, ready: event.ready };
    case 'data_root': {
      // A replica has no data root of its own; a receiver's is its agent's business.
      if (event.receiver !== undefined) return state;
      const { type: _t, seq: _s, receiver: _r, ...status } = event;
      return { ...state, data_root: status };
    }
    case 'alert_action':
      return {
        ...state,
        alert_actions: withKey(state.alert_actions, event.dedup_key, event.action ?? undefined),
      };
    case 'host_thresholds':
      return { ...state, host_thresholds: event.thresholds };
    default: {
      // Exhaustive over today's events; an unknown type from a newer server is ignored.
      const _unknown: never = event;
      return state;
    }
  }
}

type RecordEvent = Extract<DashboardEvent, { type: 'episode' | 'alert' }>;

const isRecord = (e: DashboardEvent | undefined): e is RecordEvent =>
  e !== undefined && (e.type === 'episode' || e.type === 'alert');

/** Sets an own data property (even `__proto__`) on an object the caller made. */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Applies events in order: the same state as `applyEvent` over each of them (so a client applying
 * them one by one holds the same state), but a run of `episode` and `alert` events — what a
 * backlog or a replica's stream batch is made of — is folded with one copy of the maps and lists
 * it changes instead of one per event (`applyEvent` copies the 200 recent episodes every time).
 */
export function applyEvents(state: DashboardState, events: readonly DashboardEvent[]): DashboardState {
  let i = 0;
  while (i < events.length) {
    let j = i;
    while (isRecord(events[j])) j++;
    if (j - i >= 2) {
      state = applyRecordRun(state, events as readonly RecordEvent[], i, j);
      i = j;
    } else {
      state = applyEvent(state, events[i] as DashboardEvent);
      i++;
    }
  }
  return state;
}

/** `applyEvent` over `events[from..to)`, all of them episodes or alerts, with one copy per changed map. */
function applyRecordRun(
  state: DashboardState,
  events: readonly RecordEvent[],
  from: number,
  to: number,
): DashboardState {
  let totalEpisodes = state.total_episodes;
  let totalBytes = state.total_bytes;
  let totalAlerts = state.total_alerts;
  const newEpisodes: EpisodeRecord[] = [];
  const newAlerts: AlertRecord[] = [];
  let hosts: Record<string, HostIndexed> | null = null;
  let lastAlert: Record<string, AlertRecord> | null = null;
  let parts: Record<string, ReceiverPart> | null = null;
  // Parts this run made (and may change in place); the state's own are copied first.
  const madeParts = new Set<string>();
  const part = (receiver: string): ReceiverPart => {
    parts ??= { ...(state.receivers ?? {}) };
    let p = own(parts, receiver);
    if (!madeParts.has(receiver)) {
      p = { ...(p ?? emptyPart()) };
      setOwn(parts, receiver, p);
      madeParts.add(receiver);
    }
    return p as ReceiverPart;
  };
  for (let k = from; k < to; k++) {
    const event = events[k] as RecordEvent;
    if (event.type === 'episode') {
      const { type: _t, seq: _s, ...episode } = event;
      const size = typeof episode.size_bytes === 'number' ? episode.size_bytes : 0;
      const key = hostKey(episode.receiver, episode.host_id);
      hosts ??= { ...state.hosts_indexed };
      const prev = own(hosts, key);
      const last = prev?.last_received_at ?? null;
      const newer = episode.received_at !== null && (last === null || episode.received_at > last);
      if (episode.receiver !== undefined) {
        const p = part(episode.receiver);
        p.total_episodes += 1;
        p.total_bytes += size;
      }
      totalEpisodes += 1;
      totalBytes += size;
      newEpisodes.push(episode);
      setOwn(hosts, key, {
        episodes: (prev?.episodes ?? 0) + 1,
        bytes: (prev?.bytes ?? 0) + size,
        last_received_at: newer ? episode.received_at : last,
      });
    } else {
      const { type: _t, seq: _s, ...alert } = event;
      if (alert.receiver !== undefined) part(alert.receiver).total_alerts += 1;
      totalAlerts += 1;
      newAlerts.push(alert);
      if (alert.host_id !== null) {
        lastAlert ??= { ...state.host_last_alert };
        setOwn(lastAlert, hostKey(alert.receiver, alert.host_id), alert);
      }
    }
  }
  const out: DashboardState = { ...state };
  if (parts !== null) out.receivers = parts;
  if (newEpisodes.length > 0) {
    out.total_episodes = totalEpisodes;
    out.total_bytes = totalBytes;
    out.recent_episodes = newestFirst(newEpisodes, state.recent_episodes);
  }
  if (hosts !== null) out.hosts_indexed = hosts;
  if (newAlerts.length > 0) {
    out.total_alerts = totalAlerts;
    out.recent_alerts = newestFirst(newAlerts, state.recent_alerts);
  }
  if (lastAlert !== null) out.host_last_alert = lastAlert;
  return out;
}

/** The newest `RECENT_LIMIT` of `old` with `added` (oldest first) put in front, newest first. */
function newestFirst<T>(added: readonly T[], old: readonly T[]): T[] {
  const out: T[] = [];
  for (let k = added.length - 1; k >= 0 && out.length < RECENT_LIMIT; k--) out.push(added[k] as T);
  for (let k = 0; k < old.length && out.length < RECENT_LIMIT; k++) out.push(old[k] as T);
  return out;
}

/** The state a client holds after a hello: the hello's state, replacing (never merging) the old. */
export function stateFromHello(hello: HelloMessage): DashboardState {
  return hello.state;
}
