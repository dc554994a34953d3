import { useDataNow } from '../../app/Liveness.js';
import { SceneGate } from '../../app/SceneGate.js';
import { Notice, Widget } from '../../app/Widget.js';
import { formatDateTime, formatDuration, formatPlural } from '../../data/format.js';
import { useStore } from '../../data/hooks.js';
import { usePhaseColor } from '../../ui/phase-colors.js';

/** No transition from any host for this long: say the phases shown may be old news. */
const QUIET_MS = 30 * 60_000;

export function LiveScene() {
  const phases = useStore((s) => s.state.live_phases);
  const now = useDataNow(1000);
  const phaseColor = usePhaseColor();
  const rows = Object.values(phases).sort((a, b) => a.host_id.localeCompare(b.host_id));
  const newest = Math.max(...rows.map((p) => Date.parse(p.at)).filter((t) => !Number.isNaN(t)));
  const quietFor = rows.length > 0 && Number.isFinite(newest) ? now - newest : 0;
  return (
    <SceneGate>
      <Widget
        title="Live phases"
        className="span-all"
        aside={rows.length > 0 ? `${formatPlural(rows.length, 'host')} reporting` : undefined}
      >
        {rows.length === 0 ? (
          <Notice kind="empty" title="No orchestrator is sending phase events">
            This scene shows each host's current phase while an orchestrator posts transitions to /api/phase.
            Nothing has been posted since the server started; the Baseline scene shows the phase mix from the
            recorded episodes instead.
          </Notice>
        ) : (
          <>
            {quietFor > QUIET_MS && (
              <Notice kind="empty" title={`No transition for ${formatDuration(quietFor / 1000)}`}>
                These are the last phases the orchestrator reported; it may have stopped sending.
              </Notice>
            )}
            <ul className="live-list">
              {rows.map((p) => (
                <li key={p.host_id} className="card live-card" data-testid="live-host" data-host={p.host_id}>
                  <span className="live-host">{p.host_id}</span>
                  <span className="live-phase" style={{ borderColor: phaseColor(p.phase) }}>
                    <span className="swatch" style={{ background: phaseColor(p.phase) }} aria-hidden="true" />
                    {p.phase}
                  </span>
                  <span className="live-for">for {formatDuration((now - Date.parse(p.at)) / 1000)}</span>
                  <span className="muted">
                    since {formatDateTime(p.at)}
                    {p.episode_id ? ` · episode ${p.episode_id}` : ''}
                  </span>
                </li>
              ))}
            </ul>
          </>
        )}
      </Widget>
    </SceneGate>
  );
}
