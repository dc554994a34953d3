import type { EpisodeListItem } from '../../../protocol/api.js';
import { type EpisodeSort, type EpisodeSortKey, FIRST_ORDER } from '../../../protocol/episode-filter.js';
import type { EpisodeRecord } from '../../../protocol/index.js';
import { hostKey } from '../../../protocol/receivers.js';
import { formatAgo, formatBytes, formatDateTime, shortHash } from '../../data/format.js';
import { useHostLabel } from '../../data/hooks.js';

export type Row = (EpisodeListItem | EpisodeRecord) & { live?: boolean };

interface Props {
  rows: Row[];
  now: number;
  selected: string | null;
  onSelect: (id: string) => void;
  sort: EpisodeSort;
  onSort: (sort: EpisodeSort) => void;
  /** On the wall nobody can click: headers are plain text (the active order still marked), ids are text. */
  kiosk?: boolean;
}

/** A column header that sorts: a button (keyboard and screen reader), `aria-sort` on the cell. */
function SortHeader({
  label,
  column,
  sort,
  onSort,
  className,
  kiosk,
}: {
  label: string;
  column: EpisodeSortKey;
  sort: EpisodeSort;
  onSort: (sort: EpisodeSort) => void;
  className?: string;
  kiosk: boolean;
}) {
  const active = sort.sort === column;
  const ariaSort = active ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined;
  if (kiosk) {
    // No button and no "sortable" mark: only the order the wall is showing.
    return (
      <th className={className} aria-sort={ariaSort}>
        {label}
        {active && (
          <span aria-hidden="true" className="sort-mark">
            {sort.order === 'asc' ? ' ▲' : ' ▼'}
          </span>
        )}
      </th>
    );
  }
  const next: EpisodeSort = active
    ? { sort: column, order: sort.order === 'asc' ? 'desc' : 'asc' }
    : { sort: column, order: FIRST_ORDER[column] };
  return (
    <th className={className} aria-sort={ariaSort}>
      <button
        type="button"
        className="sort-header"
        onClick={() => onSort(next)}
        data-testid={`sort-${column}`}
        title={`Sort by ${label.toLowerCase()}, ${next.order === 'asc' ? 'ascending' : 'descending'}`}
      >
        {label}
        <span aria-hidden="true" className="sort-mark">
          {active ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'}
        </span>
      </button>
    </th>
  );
}

export function EpisodeTable({ rows, now, selected, onSelect, sort, onSort, kiosk = false }: Props) {
  const label = useHostLabel();
  return (
    <table className="table episodes" data-testid="episodes-table">
      <thead>
        <tr>
          <SortHeader label="Received" column="received" sort={sort} onSort={onSort} kiosk={kiosk} />
          <SortHeader label="Host" column="host" sort={sort} onSort={onSort} kiosk={kiosk} />
          <th className="c-episode">Episode</th>
          <th className="hide-narrow">sha256</th>
          <SortHeader label="Size" column="size" sort={sort} onSort={onSort} kiosk={kiosk} className="num" />
          <SortHeader label="Status" column="status" sort={sort} onSort={onSort} kiosk={kiosk} />
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr
            key={`${r.receiver ?? ''}/${r.episode_id}`}
            className={`${r.live ? 'live-row ' : ''}${selected === r.episode_id ? 'selected' : ''}`}
            data-testid="episode-row"
            data-episode={r.episode_id}
          >
            <td className="c-received" title={formatDateTime(r.received_at)} data-testid="cell-received">
              {formatAgo(r.received_at, now)}
              <div className="muted small">{formatDateTime(r.received_at)}</div>
            </td>
            <td className="c-host" data-testid="cell-host">
              {label(hostKey(r.receiver, r.host_id))}
            </td>
            <td className="c-episode">
              {kiosk ? (
                <span className="mono">{r.episode_id}</span>
              ) : (
                <button type="button" className="link mono" onClick={() => onSelect(r.episode_id)}>
                  {r.episode_id}
                </button>
              )}
            </td>
            <td className="mono hide-narrow">{shortHash(r.sha256)}</td>
            <td className="num c-size">{formatBytes(r.size_bytes)}</td>
            <td className="c-status" data-testid="cell-status">
              {'status' in r ? (
                <span className={`status status-${r.status}`}>{r.status}</span>
              ) : (
                <span className="status">new</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
