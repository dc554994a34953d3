import { hashFor } from '../../app/routes.js';
import { SceneGate } from '../../app/SceneGate.js';
import { useSetParams } from '../../app/useRoute.js';
import { Notice, Widget } from '../../app/Widget.js';
import { formatAgo, formatBytes, formatCount, formatPlural } from '../../data/format.js';
import { useHostLabel } from '../../data/hooks.js';
import { isRange } from '../overview/ingest.js';
import { HostPage } from './HostPage.js';
import { type HostWithStatus, useHostStatuses } from './status.js';

export const STATUS_ICON = { ok: '✓', warning: '▲', critical: '✕' } as const;
export const STATUS_WORD = { ok: 'OK', warning: 'Warning', critical: 'Critical' } as const;

/** One compact tile: colour plus icon and word, the worst reason; opens the host's page. */
function HostTile({
  row,
  now,
  kiosk,
  label,
}: {
  row: HostWithStatus;
  now: number;
  kiosk: boolean;
  label: string;
}) {
  const body = (
    <>
      <span className="tile-head">
        <span className="tile-host">{label}</span>
        <span className="tile-status" data-testid="host-status">
          <span aria-hidden="true">{STATUS_ICON[row.status]}</span> {STATUS_WORD[row.status]}
        </span>
      </span>
      <span className="tile-reason" data-testid="host-reason">
        {row.reasons[0]?.text ?? `last episode ${formatAgo(row.last_received_at, now)}`}
      </span>
      {!kiosk && (
        <span className="tile-counts">
          <span data-testid="host-episodes">{formatCount(row.episodes)}</span>{' '}
          {row.episodes === 1 ? 'episode' : 'episodes'} ·{' '}
          <span data-testid="host-bytes">{formatBytes(row.bytes)}</span> ·{' '}
          <span data-testid="host-files">{formatCount(row.files_on_disk)}</span> files
        </span>
      )}
    </>
  );
  const attrs = {
    className: `tile tile-${row.status}`,
    'data-testid': 'host-card',
    'data-host': row.key,
    'data-status': row.status,
  };
  return (
    <li>
      {kiosk ? (
        <div {...attrs}>{body}</div>
      ) : (
        <a {...attrs} href={hashFor('hosts', new URLSearchParams({ host: row.key }))}>
          {body}
        </a>
      )}
    </li>
  );
}

export function HostsScene({ params, kiosk }: { params: URLSearchParams; kiosk: boolean }) {
  const { hosts, now } = useHostStatuses();
  const label = useHostLabel();
  const selected = kiosk ? null : params.get('host');
  const rangeParam = params.get('range');
  const setParams = useSetParams('hosts');
  if (selected !== null) {
    return (
      <SceneGate>
        <HostPage
          hostId={selected}
          host={hosts.find((h) => h.key === selected) ?? null}
          now={now}
          range={isRange(rangeParam) ? rangeParam : '7d'}
          onRange={(r) => setParams(new URLSearchParams({ host: selected, range: r }))}
        />
      </SceneGate>
    );
  }
  const critical = hosts.filter((r) => r.status === 'critical').length;
  const warning = hosts.filter((r) => r.status === 'warning').length;
  return (
    <SceneGate>
      <Widget
        title="Host status"
        aside={`${formatPlural(hosts.length, 'host')} · ${formatCount(critical)} critical · ${formatCount(warning)} warning`}
        className="span-all"
      >
        {hosts.length === 0 ? (
          <Notice kind="empty" title="No hosts yet">
            A host appears with its first episode, health file or alert.
          </Notice>
        ) : (
          <ul className="tiles" data-testid="host-grid">
            {hosts.map((row) => (
              <HostTile key={row.key} row={row} now={now} kiosk={kiosk} label={label(row.key)} />
            ))}
          </ul>
        )}
      </Widget>
    </SceneGate>
  );
}
