import { useEffect, useMemo, useRef, useState } from 'react';
import { own } from '../../../protocol/index.js';
import { hostRef } from '../../../protocol/receiver-view.js';
import { hashFor } from '../../app/routes.js';
import { Notice, Widget } from '../../app/Widget.js';
import { useAlertLifecycle } from '../../data/alert-lifecycle.js';
import { fetchAllEpisodes } from '../../data/episodes.js';
import { formatAgo, formatBytes, formatCount, formatDateTime } from '../../data/format.js';
import { useHostLabel, useStore } from '../../data/hooks.js';
import { pickedReceiver, pickReceiver } from '../../data/receiver.js';
import { timeZoneLabel, useTimeZoneMode } from '../../data/timezone.js';
import { usePhaseColor } from '../../ui/phase-colors.js';
import { MixBarView } from '../baseline/MixBarView.js';
import { mixBar } from '../baseline/mix.js';
import { IngestChart } from '../overview/IngestChart.js';
import {
  bucketLabel,
  ingestSeries,
  RANGES,
  type RangeId,
  receivedMs,
  timesInRange,
} from '../overview/ingest.js';
import { RangePicker } from '../overview/OverviewScene.js';
import { healthFields } from './hosts.js';
import type { HostWithStatus } from './status.js';

const STATUS_WORD = { ok: 'OK', warning: 'Warning', critical: 'Critical' } as const;

/** How many of a host's newest episodes its trend reads from the catalog. */
const TREND_MAX = 5000;

/**
 * The host's ingest over a range (the Overview's picker and chart, `?range=` in the URL, default
 * 7 d), from the catalog: its episodes received in the range, newest first, up to TREND_MAX.
 */
function Trend({
  hostId,
  range,
  onRange,
}: {
  hostId: string;
  range: RangeId;
  onRange: (r: RangeId) => void;
}) {
  const tz = useTimeZoneMode();
  const [minute] = useState(() => Math.floor(Date.now() / 60_000));
  const [loaded, setLoaded] = useState<{ times: number[]; truncated: boolean; key: string } | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const span = RANGES[range];
  const now = (minute + 1) * 60_000;
  const key = `${hostId} ${range}`;
  useEffect(() => {
    const controller = new AbortController();
    // A cluster's host key (`rack-2/host-a`) asks for that receiver's host.
    const { host_id, receiver } = hostRef(hostId);
    const q = new URLSearchParams({ host: host_id, to: new Date(now).toISOString() });
    if (receiver !== null) q.set('receiver', receiver);
    if (span !== null) q.set('from', new Date(now - span).toISOString());
    fetchAllEpisodes(q, TREND_MAX, controller.signal).then(
      ({ items, truncated }) => {
        const times: number[] = [];
        for (const e of items) {
          const t = receivedMs(e.received_at);
          if (t !== null) times.push(t);
        }
        setLoaded({ times, truncated, key: `${hostId} ${range}` });
        setFailed(null);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setFailed(err instanceof Error ? err.message : String(err));
      },
    );
    return () => controller.abort();
  }, [hostId, range, span, now]);
  const series = useMemo(() => {
    if (loaded === null) return null;
    const { kept, outside } = timesInRange(loaded.times, range, now);
    return {
      ...ingestSeries(kept, 120, span === null ? undefined : { fromMs: now - span, toMs: now }),
      outside,
    };
  }, [loaded, range, span, now]);
  const unit = series ? bucketLabel(series.bucketSeconds) : '';
  return (
    <div className="trend" data-testid="host-trend" data-range={range}>
      <RangePicker range={range} onChange={onRange} />
      {failed !== null ? (
        <Notice kind="error" title="The episode catalog did not answer">
          {failed}
        </Notice>
      ) : series === null || loaded?.key !== key ? (
        <Notice kind="loading" title="Loading this host's episodes…" />
      ) : series.x.length === 0 ? (
        <Notice kind="empty" title="No episode from this host in this range" />
      ) : (
        <>
          <p className="muted" data-testid="host-trend-caption">
            episodes per {unit} ·{' '}
            {loaded.truncated
              ? `newest ${formatCount(TREND_MAX)} in range`
              : `${formatCount(loaded.times.length)} in range`}
            {series.outside > 0 ? ` · ${formatCount(series.outside)} outside the range` : ''} · times{' '}
            {timeZoneLabel(tz)}
          </p>
          <IngestChart series={series} unit={unit} tz={tz} />
        </>
      )}
    </div>
  );
}

/** One host: why its status is what it is, its numbers, open alerts, phase mix and recent trend. */
export function HostPage({
  hostId,
  host,
  now,
  range = '7d',
  onRange = () => {},
}: {
  hostId: string;
  host: HostWithStatus | null;
  now: number;
  /** The trend's range (`?range=` on the host page). */
  range?: RangeId;
  onRange?: (r: RangeId) => void;
}) {
  const ref = hostRef(hostId);
  const label = useHostLabel()(hostId);
  const { groups } = useAlertLifecycle({ host: ref.host_id, receiver: ref.receiver ?? undefined });
  // The alert history is by host id: with this host's receiver picked (a replica's explorer takes the key).
  const toReceiver = (): void => {
    if (ref.receiver !== null && pickedReceiver() !== ref.receiver) pickReceiver(ref.receiver);
  };
  const mix = useStore((s) => s.state.phase_mix);
  const perHost = own(mix?.per_host, hostId);
  const open = groups.filter((g) => g.state === 'open' || g.state === 'acknowledged');
  // The Baseline's one rule (time-weighted, label counts without durations, `failed` apart).
  const bar = useMemo(() => (perHost ? mixBar(perHost) : null), [perHost]);
  const color = usePhaseColor();
  // Opened from a tile the focus was left on the body (the tile is gone): it goes to this host's
  // heading, so the next Tab is on this page. Focus someone put elsewhere stays there.
  const heading = useRef<HTMLHeadingElement>(null);
  const shown = host !== null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new host, or its data arriving, is the trigger
  useEffect(() => {
    if (document.activeElement === null || document.activeElement === document.body)
      heading.current?.focus({ preventScroll: true });
  }, [hostId, shown]);
  return (
    <div className="host-page" data-testid="host-page" data-host={hostId}>
      <p>
        <a href={hashFor('hosts')}>← All hosts</a>
      </p>
      {host === null ? (
        <Notice kind="empty" title={`No host called ${label}`} />
      ) : (
        <div className="grid">
          <Widget
            title={label}
            aside={STATUS_WORD[host.status]}
            className={`span-all tile-${host.status}`}
            headingRef={heading}
          >
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
            <a
              href={hashFor('alerts', new URLSearchParams({ host: ref.host_id, state: 'all' }))}
              onClick={toReceiver}
            >
              Alert history →
            </a>
          </Widget>
          <Widget title="Phase mix">
            {perHost === undefined || bar === null || (bar.denominator === 0 && bar.apart.length === 0) ? (
              <p>No phase mix for this host yet.</p>
            ) : (
              <div data-testid="host-phase-mix">
                <p className="eyebrow">
                  {bar.basis === 'time' ? 'Time-weighted' : 'By label count (no durations)'} ·{' '}
                  {formatCount(perHost.sampled_episodes)} of {formatCount(perHost.population_episodes)}{' '}
                  episodes
                </p>
                <MixBarView bar={bar} color={color} />
              </div>
            )}
          </Widget>
          <Widget title="Ingest">
            <Trend hostId={hostId} range={range} onRange={onRange} />
          </Widget>
        </div>
      )}
    </div>
  );
}
