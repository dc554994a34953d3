import {
  type DashboardEvent,
  type DashboardState,
  type HelloMessage,
  own,
  RECENT_LIMIT,
  withKey,
} from './index.js';
import {
  applyReceiverPhaseMix,
  applyReceiverReady,
  applyReceiverSnapshot,
  hostKey,
  withPart,
} from './receivers.js';

/**
 * Applies one event to a state and returns the new state. Pure and shared by the server's bus and
 * the web app's store, so a client that starts from a `hello` and applies every later event holds
 * exactly the server's state. Returns a new top-level object; untouched fields are shared.
 */
export function applyEvent(state: DashboardState, event: DashboardEvent): DashboardState {
  switch (event.type) {
    case 'episode': {
      const { type: _t, seq: _s, ...episode } = event;
      const size = typeof episode.size_bytes === 'number' ? episode.size_bytes : 0;
      // Scale-out: hosts are (receiver, host) and the receiver's part of the totals moves too.
      const key = hostKey(episode.receiver, episode.host_id);
      const prev = own(state.hosts_indexed, key);
      const last = prev?.last_received_at ?? null;
      const newer = episode.received_at !== null && (last === null || episode.received_at > last);
      const base =
        episode.receiver === undefined
          ? state
          : withPart(state, episode.receiver, (p) => ({
              ...p,
              total_episodes: p.total_episodes + 1,
              total_bytes: p.total_bytes + size,
            }));
      return {
        ...base,
        total_episodes: state.total_episodes + 1,
        total_bytes: state.total_bytes + size,
        recent_episodes: [episode, ...state.recent_episodes.slice(0, RECENT_LIMIT - 1)],
        hosts_indexed: withKey(state.hosts_indexed, key, {
          episodes: (prev?.episodes ?? 0) + 1,
          bytes: (prev?.bytes ?? 0) + size,
          last_received_at: newer ? episode.received_at : last,
        }),
      };
    }
    case 'alert': {
      const { type: _t, seq: _s, ...alert } = event;
      const base =
        alert.receiver === undefined
          ? state
          : withPart(state, alert.receiver, (p) => ({ ...p, total_alerts: p.total_alerts + 1 }));
      return {
        ...base,
        total_alerts: state.total_alerts + 1,
        recent_alerts: [alert, ...state.recent_alerts.slice(0, RECENT_LIMIT - 1)],
        host_last_alert:
          alert.host_id === null
            ? state.host_last_alert
            : withKey(state.host_last_alert, hostKey(alert.receiver, alert.host_id), alert),
      };
    }
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

/** The state a client holds after a hello: the hello's state, replacing (never merging) the old. */
export function stateFromHello(hello: HelloMessage): DashboardState {
  return hello.state;
}
