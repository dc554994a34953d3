import { useMemo, useState } from 'react';
import { ALERT_STATES, type AlertGroupState, type AlertState } from '../../../protocol/alerts.js';
import { hostRef } from '../../../protocol/receiver-view.js';
import { hostKey } from '../../../protocol/receivers.js';
import { SOUND_KEY } from '../../app/AlertSignals.js';
import { SceneGate } from '../../app/SceneGate.js';
import { useSetParams } from '../../app/useRoute.js';
import { Notice, Widget } from '../../app/Widget.js';
import { useAlertLifecycle } from '../../data/alert-lifecycle.js';
import { formatAgo, formatCount, formatDateTime } from '../../data/format.js';
import { useHostLabel, useNow, useStore } from '../../data/hooks.js';
import { ActionForm } from './ActionForm.js';

const STATE_LABELS: Record<AlertState, string> = {
  open: 'Open',
  acknowledged: 'Acknowledged',
  silenced: 'Silenced',
  resolved: 'Resolved',
};

/**
 * A React key per group that stays with the group as others arrive above it: its receiver and
 * dedup key (a card keyed by its place was made anew whenever an alert came in on top, which
 * closed an acknowledge form being filled in and dropped its focus). Groups without a dedup key,
 * or a key seen twice, are told apart by their turn among those alone.
 */
function groupKeys(groups: readonly AlertGroupState[]): string[] {
  const seen = new Map<string, number>();
  return groups.map((g) => {
    const base = g.dedup_key == null ? 'no-key' : `${g.receiver ?? ''}\u0000${g.dedup_key}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}#${n}`;
  });
}

const SHOWN_STATES: readonly string[] = [...ALERT_STATES, 'all'];
function isShownState(s: string): boolean {
  return SHOWN_STATES.includes(s);
}

/** The empty list's words: a host nobody reported, filters matching nothing, or all quiet. */
function emptyNotice(
  shown: AlertState | 'all',
  filtered: { host: string; symptom: string; knownHost: boolean },
  history: number,
): { title: string; body: string } {
  if (filtered.host !== '' && !filtered.knownHost)
    return {
      title: `Nothing matches host ${filtered.host}`,
      body: 'No alert, episode or health file names this host.',
    };
  const title = shown === 'open' ? 'No open alerts' : `No ${shown === 'all' ? '' : `${shown} `}alerts`;
  if (shown !== 'open' || filtered.host !== '' || filtered.symptom !== '')
    return { title, body: 'Nothing matches these filters.' };
  return {
    title,
    body: `Everything the receiver reported is resolved, acknowledged or silenced (${formatCount(history)} in the history).`,
  };
}

function AlertCard({ alert, now, kiosk }: { alert: AlertGroupState; now: number; kiosk: boolean }) {
  const label = useHostLabel();
  const [acting, setActing] = useState(false);
  return (
    <li
      className={`card alert-card alert-${alert.state} sev-${alert.severity}`}
      data-testid="alert"
      data-dedup={alert.dedup_key ?? ''}
      data-state={alert.state}
    >
      <header className="card-head">
        <h3 className="alert-symptom">{alert.symptom ?? 'Unnamed alert'}</h3>
        <span className={`badge badge-state-${alert.state}`} data-testid="alert-state">
          {alert.state !== 'open'
            ? STATE_LABELS[alert.state]
            : alert.severity === 'critical'
              ? '● critical'
              : '▲ warning'}
        </span>
        {alert.count > 1 && (
          <span className="badge badge-warn" data-testid="alert-count">
            ×{formatCount(alert.count)}
          </span>
        )}
      </header>
      <p className="alert-meta">
        <span className="host-tag">
          {alert.host_id === null ? 'no host' : label(hostKey(alert.receiver, alert.host_id))}
        </span>{' '}
        · last {formatAgo(alert.last_seen ?? alert.detected_at, now)}
        {alert.count > 1 && alert.first_seen ? ` · first ${formatDateTime(alert.first_seen)}` : ''}
      </p>
      {alert.state_reason !== null && (
        <p className="alert-reason" data-testid="alert-reason">
          {alert.state === 'resolved' ? `Resolved: ${alert.state_reason}` : alert.state_reason}
          {alert.action?.until && alert.state !== 'resolved'
            ? ` (until ${formatDateTime(alert.action.until)})`
            : ''}
        </p>
      )}
      {alert.detail !== null && alert.detail !== '' && (
        <p className="alert-detail" data-testid="alert-detail">
          {alert.detail}
        </p>
      )}
      <div className="fix">
        <span className="fix-label">Suggested fix</span>
        <p data-testid="alert-fix">{alert.suggested_fix || 'None given.'}</p>
      </div>
      {!kiosk && alert.state !== 'resolved' && (
        <div className="alert-actions">
          <button
            type="button"
            aria-expanded={acting}
            onClick={() => setActing((a) => !a)}
            data-testid="alert-act"
          >
            {acting ? 'Cancel' : alert.action ? 'Change or clear…' : 'Acknowledge or silence…'}
          </button>
          {acting && <ActionForm group={alert} onDone={() => setActing(false)} />}
        </div>
      )}
    </li>
  );
}

function Select({
  label,
  value,
  options,
  all,
  onChange,
  testId,
}: {
  label: string;
  value: string;
  options: string[];
  all: string;
  onChange: (v: string) => void;
  testId: string;
}) {
  return (
    <label className="inline-field">
      {label}{' '}
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value="">{all}</option>
        {options.map((h) => (
          <option key={h} value={h}>
            {h}
          </option>
        ))}
      </select>
    </label>
  );
}

function SoundToggle() {
  const [on, setOn] = useState(() => globalThis.localStorage?.getItem(SOUND_KEY) === 'on');
  return (
    <label className="inline-field">
      <input
        type="checkbox"
        checked={on}
        onChange={(e) => {
          setOn(e.target.checked);
          globalThis.localStorage?.setItem(SOUND_KEY, e.target.checked ? 'on' : 'off');
        }}
      />{' '}
      Sound on a new critical alert
    </label>
  );
}

export function AlertsScene({ params, kiosk }: { params: URLSearchParams; kiosk: boolean }) {
  const host = params.get('host') ?? '';
  const symptom = params.get('symptom') ?? '';
  const stateParam = params.get('state') ?? 'open';
  // A state the URL names wrongly is said to be wrong (as the Explorer does), not shown as another.
  const badState = !kiosk && !isShownState(stateParam);
  const shown: AlertState | 'all' = kiosk || badState ? 'open' : (stateParam as AlertState | 'all');
  const setParams = useSetParams('alerts');
  const totalLines = useStore((s) => s.state.total_alerts);
  const lastAlerts = useStore((s) => s.state.host_last_alert);
  const indexed = useStore((s) => s.state.hosts_indexed);
  // A host known only by its health file or its folder on disk is a host too (not "unknown").
  const health = useStore((s) => s.state.health);
  const onDisk = useStore((s) => s.state.host_counts);
  const now = useNow(10_000);
  const lifecycle = useAlertLifecycle({ host, symptom });
  const counts = lifecycle.counts;

  // Host ids (the API filters by id; the receiver picker narrows to one receiver's hosts).
  const hosts = useMemo(
    () =>
      [
        ...new Set(
          [indexed, lastAlerts, health, onDisk].flatMap((m) => Object.keys(m)).map((k) => hostRef(k).host_id),
        ),
      ].sort(),
    [indexed, lastAlerts, health, onDisk],
  );
  const symptoms = useMemo(
    () => [...new Set(Object.values(lastAlerts).flatMap((a) => (a.symptom ? [a.symptom] : [])))].sort(),
    [lastAlerts],
  );
  const groups = shown === 'all' ? lifecycle.groups : lifecycle.groups.filter((g) => g.state === shown);
  // Open critical first, then open warnings, newest first within each.
  const ordered = [...groups].sort(
    (a, b) => Number(b.severity === 'critical') - Number(a.severity === 'critical'),
  );
  const empty = emptyNotice(
    shown,
    { host, symptom, knownHost: hosts.includes(host) },
    lifecycle.groups.length,
  );
  const set = (next: Record<string, string>): void => {
    const p = new URLSearchParams({ host, symptom, state: stateParam, ...next });
    for (const [k, v] of [...p]) if (v === '') p.delete(k);
    setParams(p);
  };

  return (
    <SceneGate>
      <Widget
        title={kiosk ? 'Open alerts' : 'Alerts'}
        className="span-all"
        aside={
          <>
            <span data-testid="alerts-open">{formatCount(counts?.open ?? null)}</span> open ·{' '}
            {formatCount(counts?.open_critical ?? null)} critical · {formatCount(totalLines)} alert lines
          </>
        }
      >
        {!kiosk && (
          <div className="toolbar">
            <fieldset className="chips">
              <legend className="sr-only">Alert state</legend>
              {[...ALERT_STATES, 'all' as const].map((s) => (
                <button
                  key={s}
                  type="button"
                  className="chip"
                  aria-pressed={!badState && shown === s}
                  onClick={() => set({ state: s })}
                  data-testid="alert-state-filter"
                  data-state={s}
                >
                  {s === 'all' ? 'All' : STATE_LABELS[s]}{' '}
                  <span className="chip-count">
                    {formatCount(s === 'all' ? lifecycle.groups.length : (counts?.[s] ?? null))}
                  </span>
                </button>
              ))}
            </fieldset>
            <Select
              label="Host"
              value={host}
              options={hosts}
              all="all hosts"
              onChange={(h) => set({ host: h })}
              testId="alerts-host"
            />
            <Select
              label="Symptom"
              value={symptom}
              options={symptoms}
              all="all symptoms"
              onChange={(v) => set({ symptom: v })}
              testId="alerts-symptom"
            />
            <SoundToggle />
          </div>
        )}
        {lifecycle.error !== null && (
          <Notice kind="error" title="The alerts API did not answer">
            {lifecycle.error.message}
          </Notice>
        )}
        {badState ? (
          <Notice kind="error" title="This filter cannot be applied">
            {`query parameter 'state' must be one of ${SHOWN_STATES.join(', ')}, got '${stateParam}'`}
          </Notice>
        ) : lifecycle.loading ? (
          <Notice kind="loading" title="Loading alerts…" />
        ) : ordered.length === 0 ? (
          <Notice kind="empty" title={empty.title}>
            {empty.body}
          </Notice>
        ) : (
          <ul className="alert-list">
            {groupKeys(ordered).map((key, i) => (
              <AlertCard key={key} alert={ordered[i] as AlertGroupState} now={now} kiosk={kiosk} />
            ))}
          </ul>
        )}
      </Widget>
    </SceneGate>
  );
}
