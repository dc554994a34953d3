import { useEffect, useMemo, useState } from 'react';
import type { AlertGroup, AlertsPage } from '../../../protocol/api.js';
import { SceneGate } from '../../app/SceneGate.js';
import { useSetParams } from '../../app/useRoute.js';
import { Notice, Widget } from '../../app/Widget.js';
import { getJson, useApi } from '../../data/api.js';
import { formatAgo, formatCount, formatDateTime } from '../../data/format.js';
import { useNow, useStore } from '../../data/hooks.js';
import { asGroups, groupAlerts } from './group.js';

const PAGE = 50;

function AlertCard({ alert, now }: { alert: AlertGroup; now: number }) {
  return (
    <li className="card alert-card" data-testid="alert" data-dedup={alert.dedup_key ?? ''}>
      <header className="card-head">
        <h3 className="alert-symptom">{alert.symptom ?? 'Unnamed alert'}</h3>
        {alert.count > 1 && (
          <span className="badge badge-warn" data-testid="alert-count">
            ×{formatCount(alert.count)}
          </span>
        )}
      </header>
      <p className="alert-meta">
        <span className="host-tag">{alert.host_id ?? 'no host'}</span> · last{' '}
        {formatAgo(alert.last_seen ?? alert.detected_at, now)}
        {alert.count > 1 && alert.first_seen ? ` · first ${formatDateTime(alert.first_seen)}` : ''}
      </p>
      {alert.detail !== null && alert.detail !== '' && (
        <p className="alert-detail" data-testid="alert-detail">
          {alert.detail}
        </p>
      )}
      <div className="fix">
        <span className="fix-label">Suggested fix</span>
        <p data-testid="alert-fix">{alert.suggested_fix || 'None given.'}</p>
      </div>
    </li>
  );
}

function HostFilter({
  host,
  hosts,
  onChange,
}: {
  host: string;
  hosts: string[];
  onChange: (h: string) => void;
}) {
  return (
    <label className="inline-field">
      Host{' '}
      <select value={host} onChange={(e) => onChange(e.target.value)} data-testid="alerts-host">
        <option value="">all hosts</option>
        {hosts.map((h) => (
          <option key={h} value={h}>
            {h}
          </option>
        ))}
      </select>
    </label>
  );
}

export function AlertsScene({ params, kiosk }: { params: URLSearchParams; kiosk: boolean }) {
  const host = params.get('host') ?? '';
  const setParams = useSetParams('alerts');
  const alertEvents = useStore((s) => s.alertEvents);
  const helloCount = useStore((s) => s.helloCount);
  const recent = useStore((s) => s.state.recent_alerts);
  const totalLines = useStore((s) => s.state.total_alerts);
  const lastAlerts = useStore((s) => s.state.host_last_alert);
  const indexed = useStore((s) => s.state.hosts_indexed);
  const now = useNow(10_000);
  const query = new URLSearchParams({ dedup: '1', limit: String(kiosk ? 12 : PAGE) });
  if (host) query.set('host', host);
  const first = useApi<AlertsPage>(`/api/alerts?${query}`, alertEvents + helloCount, 500);
  const [more, setMore] = useState<{ items: AlertGroup[]; cursor: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);

  // A new first page (filter change, new alert) drops the pages loaded after it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new first page is the trigger
  useEffect(() => setMore(null), [first.data]);

  const hosts = useMemo(
    () => [...new Set([...Object.keys(indexed), ...Object.keys(lastAlerts)])].sort(),
    [indexed, lastAlerts],
  );
  const fallback = useMemo(
    () => groupAlerts(host ? recent.filter((a) => a.host_id === host) : recent),
    [recent, host],
  );

  const apiDown = first.status === 'error' && first.data === null;
  const groups = apiDown ? fallback : [...asGroups(first.data?.items ?? []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : (first.data?.next_cursor ?? null);
  const total = apiDown ? fallback.length : (first.data?.total ?? 0);

  const loadMore = (): void => {
    if (cursor === null) return;
    setLoadingMore(true);
    const q = new URLSearchParams(query);
    q.set('cursor', cursor);
    getJson<AlertsPage>(`/api/alerts?${q}`)
      .then((page) =>
        setMore((m) => ({ items: [...(m?.items ?? []), ...asGroups(page.items)], cursor: page.next_cursor })),
      )
      .catch(() => {})
      .finally(() => setLoadingMore(false));
  };

  return (
    <SceneGate>
      <Widget
        title="Alerts"
        className="span-all"
        aside={
          <>
            <span data-testid="alerts-total">{formatCount(total)}</span> distinct · {formatCount(totalLines)}{' '}
            alert lines
          </>
        }
      >
        {!kiosk && (
          <div className="toolbar">
            <HostFilter
              host={host}
              hosts={hosts}
              onChange={(h) => setParams(new URLSearchParams(h ? { host: h } : {}))}
            />
          </div>
        )}
        {apiDown && (
          <Notice kind="error" title="The alerts API did not answer">
            Showing the {formatCount(recent.length)} most recent alerts from the live feed. (
            {first.error?.message})
          </Notice>
        )}
        {first.status === 'loading' && first.data === null ? (
          <Notice kind="loading" title="Loading alerts…" />
        ) : groups.length === 0 ? (
          <Notice kind="empty" title={host ? `No alerts for ${host}` : 'No alerts'}>
            Nothing has gone wrong that the receiver noticed.
          </Notice>
        ) : (
          <ul className="alert-list">
            {groups.map((g, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: a group without dedup_key has no other identity
              <AlertCard key={`${g.dedup_key ?? ''}:${i}`} alert={g} now={now} />
            ))}
          </ul>
        )}
        {!kiosk && cursor !== null && !apiDown && (
          <button type="button" className="more" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Show older alerts'}
          </button>
        )}
      </Widget>
    </SceneGate>
  );
}
