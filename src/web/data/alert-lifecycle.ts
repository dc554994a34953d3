import { useMemo } from 'react';
import {
  type AlertGroupState,
  type AlertLifecycleResponse,
  type AlertStateCounts,
  alertState,
  countStates,
} from '../../protocol/alerts.js';
import { useApi } from './api.js';
import { useNow, useStore } from './hooks.js';
import { useReceiver } from './receiver.js';

export interface AlertLifecycle {
  /** Every group, newest first, with its state as of now (re-evaluated against the live state). */
  groups: AlertGroupState[];
  counts: AlertStateCounts | null;
  error: Error | null;
  loading: boolean;
}

/**
 * The alert groups from `/api/alerts/lifecycle`, refetched when alerts or actions arrive, and their
 * state re-evaluated here with the server's own rule whenever health or episodes move: a heartbeat
 * resolves `heartbeat_missed` on screen without waiting for a refetch.
 */
export function useAlertLifecycle(
  filter: { host?: string; symptom?: string; receiver?: string } = {},
): AlertLifecycle {
  const alertEvents = useStore((s) => s.alertEvents);
  const helloCount = useStore((s) => s.helloCount);
  const health = useStore((s) => s.state.health);
  const hostsIndexed = useStore((s) => s.state.hosts_indexed);
  const actions = useStore((s) => s.state.alert_actions);
  const now = useNow(10_000);
  const q = new URLSearchParams({ limit: '5000' });
  if (filter.host) q.set('host', filter.host);
  if (filter.symptom) q.set('symptom', filter.symptom);
  const res = useApi<AlertLifecycleResponse>(
    `/api/alerts/lifecycle?${q}`,
    `${alertEvents}:${helloCount}`,
    1000,
  );
  const picked = useReceiver();
  const receiver = filter.receiver ?? picked;
  const items = res.data?.items;
  const groups = useMemo(
    () =>
      (items ?? [])
        // One receiver's groups (the picked one, or the host page's): alert groups name their receiver.
        .filter((g) => receiver === null || g.receiver === undefined || g.receiver === receiver)
        .map((g) => alertState(g, { health, hosts_indexed: hostsIndexed, alert_actions: actions }, now)),
    [items, receiver, health, hostsIndexed, actions, now],
  );
  return {
    groups,
    counts: res.data ? countStates(groups) : null,
    error: res.status === 'error' ? res.error : null,
    loading: res.status === 'loading' && res.data === null,
  };
}
