import { useMemo } from 'react';
import {
  compareStatus,
  DEFAULT_HOST_THRESHOLDS,
  type HostStatusResult,
  hostStatusIn,
  openAlertsByHost,
} from '../../../protocol/host-status.js';
import { useDataNow } from '../../app/Liveness.js';
import { useAlertLifecycle } from '../../data/alert-lifecycle.js';
import { useStore } from '../../data/hooks.js';
import { type HostRow, hostRows } from './hosts.js';

export interface HostWithStatus extends HostRow, HostStatusResult {}

/** Every host with its status by the one rule (protocol/host-status.ts), worst first. */
export function useHostStatuses(): { hosts: HostWithStatus[]; now: number } {
  const hosts_indexed = useStore((s) => s.state.hosts_indexed);
  const host_counts = useStore((s) => s.state.host_counts);
  const host_bytes = useStore((s) => s.state.host_bytes);
  const health = useStore((s) => s.state.health);
  const host_last_alert = useStore((s) => s.state.host_last_alert);
  const live_phases = useStore((s) => s.state.live_phases);
  const integrity = useStore((s) => s.state.integrity);
  const thresholds = useStore((s) => s.state.host_thresholds) ?? DEFAULT_HOST_THRESHOLDS;
  const { groups } = useAlertLifecycle();
  const now = useDataNow(5000);
  const hosts = useMemo(() => {
    const open = openAlertsByHost(groups);
    const rows = hostRows(
      { hosts_indexed, host_counts, host_bytes, health, host_last_alert, live_phases },
      now,
    );
    return rows
      .map(
        (row): HostWithStatus => ({
          ...row,
          ...hostStatusIn(
            { hosts_indexed, health, integrity, host_thresholds: thresholds },
            row.key,
            open,
            now,
          ),
        }),
      )
      .sort(compareStatus);
  }, [
    groups,
    hosts_indexed,
    host_counts,
    host_bytes,
    health,
    host_last_alert,
    live_phases,
    integrity,
    thresholds,
    now,
  ]);
  return { hosts, now };
}
