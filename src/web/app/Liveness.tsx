import { formatTime } from '../data/format.js';
import { useNow, useStore } from '../data/hooks.js';
import type { ConnectionStatus } from '../data/source.js';

/**
 * Whether what is on screen is current. Live: connected (or static test data). Otherwise the data
 * is as of `asOf` (ms): the last moment the server was heard, or null when nothing ever arrived.
 */
export interface Liveness {
  live: boolean;
  asOf: number | null;
}

export function livenessOf(status: ConnectionStatus, loaded: boolean): Liveness {
  if (status.kind === 'connected' || status.kind === 'static') return { live: true, asOf: null };
  return { live: false, asOf: loaded && status.kind !== 'connecting' ? status.since : null };
}

export function useLiveness(): Liveness {
  const status = useStore((s) => s.status);
  const loaded = useStore((s) => s.loaded);
  return livenessOf(status, loaded);
}

/**
 * "Now" for durations computed from the data ("in this phase for 42 s"): the clock while live,
 * frozen at the moment the data is from while it is not, so nothing keeps counting on old data.
 */
export function useDataNow(everyMs = 1000): number {
  const now = useNow(everyMs);
  const { live, asOf } = useLiveness();
  return live || asOf === null ? now : Math.min(now, asOf);
}

/**
 * The banners every scene carries: data that is no longer live ("data as of 14:02:11"), and a
 * data root the server cannot read (missing, not a folder, no permission), naming the path.
 */
export function LivenessBanners() {
  const { live, asOf } = useLiveness();
  const dataRoot = useStore((s) => s.state.data_root);
  return (
    <>
      {dataRoot && !dataRoot.ok && (
        <div className="banner banner-bad" role="alert" data-testid="data-root-banner">
          <strong>Data root unavailable:</strong> <code>{dataRoot.path}</code> {dataRoot.error}. Nothing new
          can be read; the numbers below are what was read before.
        </div>
      )}
      {!live && asOf !== null && (
        <div className="banner banner-stale" role="status" data-testid="stale-banner">
          <strong>Not live:</strong> data as of {formatTime(asOf)}. Numbers are dimmed until the server
          answers again.
        </div>
      )}
    </>
  );
}
