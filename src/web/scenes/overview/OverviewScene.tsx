import { useEffect, useMemo, useRef, useState } from 'react';
import type { EpisodesPage } from '../../../protocol/api.js';
import { SceneGate } from '../../app/SceneGate.js';
import { useSetParams } from '../../app/useRoute.js';
import { Notice, Widget } from '../../app/Widget.js';
import { useAlertLifecycle } from '../../data/alert-lifecycle.js';
import { useApi } from '../../data/api.js';
import { formatBytes, formatCount, formatPlural } from '../../data/format.js';
import { useHostLabel, useNow, useStore } from '../../data/hooks.js';
import { timeZoneLabel, useTimeZoneMode } from '../../data/timezone.js';
import { Stat } from '../../ui/Stat.js';
import { HostBars } from './HostBars.js';
import { cachedHistory, HISTORY_MAX, type IngestHistory, loadHistory } from './history.js';
import { IngestChart } from './IngestChart.js';
import {
  bucketLabel,
  ingestSeries,
  isRange,
  RANGES,
  type RangeId,
  receivedMs,
  timesInRange,
} from './ingest.js';

/** Episodes received since `sinceMs` ago, from the catalog (the state holds only the newest 200). */
function useWindowCount(sinceMs: number, refreshKey: number): { value: number | null; error: boolean } {
  // Rounded to the minute so the URL (and the fetch) does not change on every render.
  const [minute, setMinute] = useState(() => Math.floor(Date.now() / 60_000));
  useEffect(() => {
    const id = setInterval(() => setMinute(Math.floor(Date.now() / 60_000)), 15_000);
    return () => clearInterval(id);
  }, []);
  const from = new Date(minute * 60_000 - sinceMs).toISOString();
  // Clamped at now: an episode dated in the future is not "in the last hour" (issue 14 item 8).
  const to = new Date((minute + 1) * 60_000).toISOString();
  const res = useApi<EpisodesPage>(
    `/api/episodes?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=1`,
    refreshKey,
    1000,
  );
  return { value: res.data?.total ?? null, error: res.status === 'error' };
}

/** 1 h / 24 h / 7 d / all, for the ingest chart and a host's trend. */
export function RangePicker({ range, onChange }: { range: RangeId; onChange: (r: RangeId) => void }) {
  return (
    <fieldset className="chips range-picker">
      <legend className="sr-only">Time range</legend>
      {(Object.keys(RANGES) as RangeId[]).map((r) => (
        <button
          key={r}
          type="button"
          className="chip"
          aria-pressed={r === range}
          onClick={() => onChange(r)}
          data-testid="range"
          data-range={r}
        >
          {r === 'all' ? 'all' : r.replace('h', ' h').replace('d', ' d')}
        </button>
      ))}
    </fieldset>
  );
}

function IngestWidget({
  range,
  onRange,
  kiosk,
}: {
  range: RangeId;
  onRange: (r: RangeId) => void;
  kiosk: boolean;
}) {
  const now = useNow(30_000);
  const tz = useTimeZoneMode();
  const recent = useStore((s) => s.state.recent_episodes);
  const helloCount = useStore((s) => s.helloCount);
  const episodeEvents = useStore((s) => s.episodeEvents);
  const eventsRef = useRef(episodeEvents);
  eventsRef.current = episodeEvents;
  const [history, setHistory] = useState<IngestHistory | null>(() => cachedHistory(helloCount));
  const [failed, setFailed] = useState(false);

  // The catalog's history (shared across mounts, reread every few minutes and after a reset);
  // live episodes come from the state.
  useEffect(() => {
    const controller = new AbortController();
    const load = (): void => {
      loadHistory(helloCount, eventsRef.current, controller.signal).then(
        (h) => {
          setHistory(h);
          setFailed(false);
        },
        () => {
          if (!controller.signal.aborted) setFailed(true);
        },
      );
    };
    load();
    const id = setInterval(load, 60_000);
    return () => {
      clearInterval(id);
      controller.abort();
    };
  }, [helloCount]);

  const series = useMemo(() => {
    const times: number[] = [];
    // Episodes that arrived after the history was read (all of the state's, without a history).
    const live = history ? recent.slice(0, Math.max(0, episodeEvents - history.asOf)) : recent;
    for (const ep of live) {
      if (history?.newestIds.has(ep.episode_id)) continue;
      const t = receivedMs(ep.received_at);
      if (t !== null) times.push(t);
    }
    const { kept, outside } = timesInRange(history ? times.concat(history.times) : times, range, now);
    const span = RANGES[range];
    return {
      ...ingestSeries(kept, 120, span === null ? undefined : { fromMs: now - span, toMs: now }),
      outside,
    };
  }, [recent, history, episodeEvents, range, now]);

  const unit = bucketLabel(series.bucketSeconds);
  const basis = history?.truncated
    ? `newest ${formatCount(HISTORY_MAX)} episodes`
    : failed || history === null
      ? `newest ${formatCount(recent.length)} episodes (catalog not reachable)`
      : 'all episodes';
  return (
    <Widget
      title="Ingest rate"
      aside={`episodes per ${unit} · ${basis}${series.outside > 0 ? ` · ${formatCount(series.outside)} outside the range` : ''} · times ${timeZoneLabel(tz)}`}
      className="span-2"
    >
      {!kiosk && <RangePicker range={range} onChange={onRange} />}
      {series.x.length === 0 ? (
        <Notice kind="empty" title="No episodes received yet">
          The chart fills in as hosts ship episodes.
        </Notice>
      ) : (
        <IngestChart series={series} unit={unit} tz={tz} />
      )}
    </Widget>
  );
}

function Totals() {
  const totalEpisodes = useStore((s) => s.state.total_episodes);
  const totalBytes = useStore((s) => s.state.total_bytes);
  const totalAlerts = useStore((s) => s.state.total_alerts);
  const episodeEvents = useStore((s) => s.episodeEvents);
  const helloCount = useStore((s) => s.helloCount);
  const hour = useWindowCount(3600_000, episodeEvents + helloCount);
  const day = useWindowCount(86_400_000, episodeEvents + helloCount);
  const { counts } = useAlertLifecycle();
  const open = counts?.open ?? null;
  return (
    <div className="stats" data-testid="totals">
      <Stat label="Episodes" value={formatCount(totalEpisodes)} testId="total-episodes" />
      <Stat
        label="Data received"
        value={formatBytes(totalBytes)}
        sub={`${formatCount(totalBytes)} bytes`}
        testId="total-bytes"
      />
      <Stat
        label="Last hour"
        value={formatCount(hour.value)}
        sub={hour.error ? 'catalog not reachable' : 'episodes'}
        testId="last-hour"
      />
      <Stat
        label="Last 24 h"
        value={formatCount(day.value)}
        sub={day.error ? 'catalog not reachable' : 'episodes'}
        testId="last-day"
      />
      <Stat
        label="Open alerts"
        value={formatCount(open)}
        sub={
          counts
            ? `${formatCount(counts.open_critical)} critical · ${formatCount(counts.resolved)} resolved · ${formatCount(totalAlerts)} lines`
            : `${formatCount(totalAlerts)} alert lines`
        }
        tone={open !== null && open > 0 ? 'bad' : undefined}
        testId="open-alerts"
      />
    </div>
  );
}

function HostsWidget() {
  const hosts = useStore((s) => s.state.hosts_indexed);
  const label = useHostLabel();
  const count = Object.keys(hosts).length;
  return (
    <Widget title="Episodes per host" aside={formatPlural(count, 'host')}>
      {count === 0 ? (
        <Notice kind="empty" title="No hosts yet">
          Hosts appear when their first episode is indexed.
        </Notice>
      ) : (
        <HostBars hosts={hosts} label={label} />
      )}
    </Widget>
  );
}

export function OverviewScene({
  params = new URLSearchParams(),
  kiosk = false,
}: {
  params?: URLSearchParams;
  kiosk?: boolean;
}) {
  const setParams = useSetParams('overview');
  const asked = params.get('range');
  // The wall shows the last 24 h (today, not a month squeezed into one spike); a desk sees all by default.
  const range: RangeId = isRange(asked) ? asked : kiosk ? '24h' : 'all';
  return (
    <SceneGate>
      <div className="grid overview">
        <Widget title="Totals" className="span-all">
          <Totals />
        </Widget>
        <IngestWidget
          range={range}
          onRange={(r) => setParams(new URLSearchParams({ range: r }))}
          kiosk={kiosk}
        />
        <HostsWidget />
      </div>
    </SceneGate>
  );
}
