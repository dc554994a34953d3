import type { EpisodeListItem } from '../../../protocol/api.js';
import type { EpisodeRecord } from '../../../protocol/index.js';
import { formatAgo, formatBytes, formatDateTime, shortHash } from '../../data/format.js';

export type Row = (EpisodeListItem | EpisodeRecord) & { live?: boolean };

interface Props {
  rows: Row[];
  now: number;
  selected: string | null;
  onSelect: (id: string) => void;
}

export function EpisodeTable({ rows, now, selected, onSelect }: Props) {
  return (
    <table className="table episodes" data-testid="episodes-table">
      <thead>
        <tr>
          <th>Received</th>
          <th>Host</th>
          <th>Episode</th>
          <th className="hide-narrow">sha256</th>
          <th className="num">Size</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr
            key={r.episode_id}
            className={`${r.live ? 'live-row ' : ''}${selected === r.episode_id ? 'selected' : ''}`}
            data-testid="episode-row"
            data-episode={r.episode_id}
          >
            <td title={formatDateTime(r.received_at)}>
              {formatAgo(r.received_at, now)}
              <div className="muted small">{formatDateTime(r.received_at)}</div>
            </td>
            <td>{r.host_id}</td>
            <td>
              <button type="button" className="link mono" onClick={() => onSelect(r.episode_id)}>
                {r.episode_id}
              </button>
            </td>
            <td className="mono hide-narrow">{shortHash(r.sha256)}</td>
            <td className="num">{formatBytes(r.size_bytes)}</td>
            <td>
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
