import type { EpisodesPage } from '../../../protocol/api.js';
import { own } from '../../../protocol/index.js';
import { hashFor } from '../../app/routes.js';
import { Notice, Widget } from '../../app/Widget.js';
import { useAlertLifecycle } from '../../data/alert-lifecycle.js';
import { useApi } from '../../data/api.js';
import { formatAgo, formatBytes, formatCount, formatDateTime, formatPercent } from '../../data/format.js';
import { useStore } from '../../data/hooks.js';
import { healthFields } from './hosts.js';
import type { HostWithStatus } from './status.js';

const STATUS_WORD = { ok: 'OK', warning: 'Warning', critical: 'Critical' } as const;

/** Episodes per day over the last week, from the catalog (one query per day, counts only). */
function Trend({ hostId }: { hostId: string }) {
  const day = 86_400_000;
  const today = Math.floor(Date.now() / day) * day;
  const q = new URLSearchParams({ host: hostId, limit: '200', to: new Date(today + day).toISOString() });
  const res = useApi<EpisodesPage>(`/api/episodes?${q}`);
  const items = res.data?.items ?? [];
  const days = Array.from({ length: 7 }, (_, i) => today - (6 - i) * day);
  const counts = days.map(
    (d) =>
      items.filter(
        (e) => e.received_at && Date.parse(e.received_at) >= d && Date.parse(e.received_at) < d + day,
      ).length,
  );
  const max = Math.max(1, ...counts);
  return (
    <div className="trend" data-testid="host-trend">
      <p className="muted">Newest {formatCount(items.length)} episodes by UTC day</p>
      <ol className="trend-bars">
        {days.map((d, i) => (
          <li key={d}>
            <span className="trend-day">{new Date(d).toISOString().slice(5, 10)}</span>
            <span className="trend-bar" style={{ width: `${((counts[i] ?? 0) / max) * 100}%` }} />
            <span className="trend-n">{formatCount(counts[i] ?? 0)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** One host: why its status is what it is, its numbers, open alerts, phase mix and recent trend. */
export function HostPage({
  hostId,
  host,
  now,
}: {
  hostId: string;
  host: HostWithStatus | null;
  now: number;
}) {
  const { groups } = useAlertLifecycle({ host: hostId });
  const mix = useStore((s) => s.state.phase_mix);
  const perHost = own(mix?.per_host, hostId);
  const open = groups.filter((g) => g.state === 'open' || g.state === 'acknowledged');
  const phases = perHost ? Object.entries(perHost.weighted_seconds).sort((a, b) => b[1] - a[1]) : [];
  const phaseTotal = phases.reduce((s, [, v]) => s + v, 0);
  return (
    <div className="host-page" data-testid="host-page" data-host={hostId}>
      <p>
        <a href={hashFor('hosts')}>← All hosts</a>
      </p>
      {host === null ? (
        <Notice kind="empty" title={`No host called ${hostId}`} />
      ) : (
        <div className="grid">
          <Widget title={hostId} aside={STATUS_WORD[host.status]} className={`span-all tile-${host.status}`}>
            {host.reasons.length === 0 ? (
              <p>Nothing to look at.</p>
            ) : (
              <ul className="reasons">
                {host.reasons.map((r) => (
                  <li key={r.text} className={`reason-${r.level}`}>
                    {STATUS_WORD[r.level]}: {r.text}
                  </li>
                ))}
              </ul>
            )}
            <dl className="kv">
              <div>
                <dt>episodes</dt>
                <dd>
                  {formatCount(host.episodes)} ({formatBytes(host.bytes)})
                </dd>
              </div>
              <div>
                <dt>files on disk</dt>
                <dd>
                  {formatCount(host.files_on_disk)} ({formatBytes(host.bytes_on_disk)})
                </dd>
              </div>
              <div>
                <dt>last episode</dt>
                <dd>
                  {formatAgo(host.last_received_at, now)} ({formatDateTime(host.last_received_at)})
                </dd>
              </div>
              {host.health &&
                healthFields(host.health, now).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
            </dl>
            <a href={hashFor('explorer', new URLSearchParams({ host: hostId }))}>
              Its episodes in the Explorer →
            </a>
          </Widget>
          <Widget title="Open alerts" aside={formatCount(open.length)}>
            {open.length === 0 ? (
              <p>None.</p>
            ) : (
              <ul className="reasons">
                {open.map((g) => (
                  <li key={g.dedup_key ?? g.detected_at}>
                    {g.symptom} —{' '}
                    {g.state === 'acknowledged' ? g.state_reason : `last ${formatAgo(g.last_seen, now)}`}
                  </li>
                ))}
              </ul>
            )}
            <a href={hashFor('alerts', new URLSearchParams({ host: hostId, state: 'all' }))}>
              Alert history →
            </a>
          </Widget>
          <Widget title="Phase mix">
            {phases.length === 0 || phaseTotal <= 0 ? (
              <p>No phase mix for this host yet.</p>
            ) : (
              <ul className="reasons">
                {phases.map(([phase, seconds]) => (
                  <li key={phase}>
                    {phase}: {formatPercent(seconds / phaseTotal)}
                  </li>
                ))}
              </ul>
            )}
          </Widget>
          <Widget title="Ingest, last 7 days">
            <Trend hostId={hostId} />
          </Widget>
        </div>
      )}
    </div>
  );
}
