import type { AgentStatus } from '../../protocol/index.js';
import { formatDateTime, formatTime } from '../data/format.js';
import { useNow, useStore } from '../data/hooks.js';
import { useReceiver } from '../data/receiver.js';
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
 * Scale-out: the receivers whose agent is down (its heartbeat expired in Redis), and those two
 * agents write under one name, as the replica says on its heartbeats; with a receiver picked,
 * that one only. A down receiver's hosts keep what its agent appended before, and nothing else on
 * screen would say why they stopped moving; two agents' data mixes in one receiver unseen.
 */
function AgentBanners() {
  const agents = useStore((s) => s.agents);
  const picked = useReceiver();
  const shown = Object.entries(agents ?? {}).filter(([name]) => picked === null || name === picked);
  const down = shown.filter(([, a]) => !a.up);
  const twice = shown.filter(([, a]) => a.up && a.conflict !== undefined);
  return (
    <>
      {down.length > 0 && <AgentsDownBanner down={down} />}
      {twice.map(([name, a]) => (
        <div
          key={name}
          className="banner banner-bad"
          role="alert"
          data-testid="agent-conflict-banner"
          data-receiver={name}
        >
          <strong>Two agents use one receiver name:</strong> <code>{name}</code> is written by{' '}
          {(a.conflict ?? []).map((agent, i) => (
            // By position: two machines may advertise one URL (both 127.0.0.1:8491).
            // biome-ignore lint/suspicious/noArrayIndexKey: the list is replaced whole, never reordered
            <span key={i}>
              {i > 0 && ' and '}
              <code>{agent.url}</code> (pid {agent.pid})
            </span>
          ))}
          . Their episodes and alerts mix in one receiver; give each receiver machine its own{' '}
          <code>--receiver</code> name.
        </div>
      ))}
    </>
  );
}

function AgentsDownBanner({ down }: { down: Array<[string, AgentStatus]> }) {
  return (
    <div className="banner banner-bad" role="alert" data-testid="agents-down-banner">
      <strong>{down.length === 1 ? 'Receiver offline:' : `${down.length} receivers offline:`}</strong>{' '}
      {down.map(([name, a], i) => (
        <span key={name} data-receiver={name}>
          {i > 0 && '; '}
          <code>{name}</code> (its agent's last heartbeat{' '}
          {a.last_heartbeat === null
            ? 'was before this server started'
            : `at ${formatDateTime(a.last_heartbeat)}`}
          )
        </span>
      ))}
      . {down.length === 1 ? 'Its hosts show' : 'Their hosts show'} what was received before; episode details
      and downloads from {down.length === 1 ? 'it' : 'them'} are unavailable.
    </div>
  );
}

/**
 * The banners every scene carries: data that is no longer live ("data as of 14:02:11"), a data
 * root the server cannot read (missing, not a folder, no permission), naming the path, and (scale-
 * out) receivers whose agent is down.
 */
export function LivenessBanners() {
  const { live, asOf } = useLiveness();
  const dataRoot = useStore((s) => s.state.data_root);
  return (
    <>
      <AgentBanners />
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
