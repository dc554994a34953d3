import { useMemo } from 'react';
import { SceneGate } from '../../app/SceneGate.js';
import { Notice, Widget } from '../../app/Widget.js';
import { formatAgo, formatBytes, formatCount, formatPlural } from '../../data/format.js';
import { useNow, useStore } from '../../data/hooks.js';
import { HEARTBEAT_STALE_MS, type HostRow, healthFields, heartbeatAt, hostRows } from './hosts.js';

function Health({ row, now }: { row: HostRow; now: number }) {
  const h = row.health;
  if (h === null) return <p className="muted">No health file.</p>;
  const beat = heartbeatAt(h);
  const age = now - Date.parse(beat);
  return (
    <div className="health">
      <p className={age > HEARTBEAT_STALE_MS ? 'bad' : 'ok'} data-testid="host-heartbeat">
        Heartbeat {formatAgo(beat, now)}
      </p>
      <dl className="kv">
        {healthFields(h, now).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function HostCard({ row, now }: { row: HostRow; now: number }) {
  return (
    <article
      className={`card host-card ${row.stale ? 'stale' : ''}`}
      data-testid="host-card"
      data-host={row.host_id}
    >
      <header className="card-head">
        <h3>{row.host_id}</h3>
        {row.stale && <span className="badge badge-bad">STALE</span>}
      </header>
      <div className="card-stats">
        <div>
          <span className="num" data-testid="host-episodes">
            {formatCount(row.episodes)}
          </span>
          <span className="label">episodes</span>
        </div>
        <div>
          <span className="num" data-testid="host-bytes" title={`${formatCount(row.bytes)} bytes`}>
            {formatBytes(row.bytes)}
          </span>
          <span className="label">in the index</span>
        </div>
        <div>
          <span className="num" data-testid="host-files">
            {formatCount(row.files_on_disk)}
          </span>
          <span className="label">files on disk · {formatBytes(row.bytes_on_disk)}</span>
        </div>
      </div>
      <p className={row.stale ? 'last bad' : 'last'} data-testid="host-last">
        Last episode {formatAgo(row.last_received_at, now)}
      </p>
      <Health row={row} now={now} />
      {row.last_alert ? (
        <p className="host-alert">
          <span className="badge badge-warn">alert</span> {row.last_alert.symptom ?? 'alert'}{' '}
          <span className="muted">{formatAgo(row.last_alert.detected_at, now)}</span>
        </p>
      ) : (
        <p className="muted">No alerts.</p>
      )}
    </article>
  );
}

export function HostsScene() {
  // Only the slices hosts are made of: an alert elsewhere or a new recent episode does not re-render.
  const hosts_indexed = useStore((s) => s.state.hosts_indexed);
  const host_counts = useStore((s) => s.state.host_counts);
  const host_bytes = useStore((s) => s.state.host_bytes);
  const health = useStore((s) => s.state.health);
  const host_last_alert = useStore((s) => s.state.host_last_alert);
  const live_phases = useStore((s) => s.state.live_phases);
  const now = useNow(5000);
  const rows = useMemo(
    () => hostRows({ hosts_indexed, host_counts, host_bytes, health, host_last_alert, live_phases }, now),
    [hosts_indexed, host_counts, host_bytes, health, host_last_alert, live_phases, now],
  );
  const stale = rows.filter((r) => r.stale).length;
  return (
    <SceneGate>
      <Widget
        title="Hosts"
        aside={`${formatPlural(rows.length, 'host')}${stale > 0 ? ` · ${formatCount(stale)} stale` : ''}`}
        className="span-all"
      >
        {rows.length === 0 ? (
          <Notice kind="empty" title="No hosts yet">
            A host appears with its first episode, health file or alert.
          </Notice>
        ) : (
          <div className="cards">
            {rows.map((row) => (
              <HostCard key={row.host_id} row={row} now={now} />
            ))}
          </div>
        )}
      </Widget>
    </SceneGate>
  );
}
