import { useEffect, useRef } from 'react';
import type { EpisodeDetail, LabelWithDuration } from '../../../protocol/api.js';
import { Notice } from '../../app/Widget.js';
import { useApi } from '../../data/api.js';
import { formatBytes, formatCount, formatDateTime, formatSeconds } from '../../data/format.js';
import { usePhaseColor } from '../../ui/phase-colors.js';

/**
 * The phase timeline of one episode: a segment per label, as wide as its duration (equal widths
 * when no durations are known), every phase and duration printed below.
 */
function Timeline({ labels }: { labels: LabelWithDuration[] }) {
  const phaseColor = usePhaseColor();
  if (labels.length === 0) return <Notice kind="empty" title="No labels in this episode" />;
  const known = labels.reduce((sum, l) => sum + (l.duration_s ?? 0), 0);
  const width = (l: LabelWithDuration): number =>
    known > 0 ? ((l.duration_s ?? 0) / known) * 100 : 100 / labels.length;
  return (
    <div className="timeline" data-testid="timeline">
      <div className="mix-bar thin">
        {labels.map((l, i) => (
          <span
            // biome-ignore lint/suspicious/noArrayIndexKey: labels are an ordered list without ids
            key={i}
            className="mix-seg"
            style={{ width: `${width(l)}%`, background: phaseColor(l.phase ?? '?') }}
          />
        ))}
      </div>
      <ol className="timeline-list">
        {labels.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: labels are an ordered list without ids
          <li key={i}>
            <span className="swatch" style={{ background: phaseColor(l.phase ?? '?') }} aria-hidden="true" />
            <span className="legend-name">{l.phase ?? '(no phase)'}</span>
            <span className="muted">
              {l.duration_s === null ? 'duration unknown' : formatSeconds(l.duration_s)}
            </span>
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Metadata as a definition list; nested values as pretty JSON, always as text. */
function Meta({ meta }: { meta: Record<string, unknown> | null }) {
  if (meta === null) return <p className="muted">No meta.json in this episode.</p>;
  return (
    <dl className="kv meta">
      {Object.entries(meta).map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'object' && v !== null ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function EpisodeDetailPanel({ id, onClose }: { id: string; onClose: () => void }) {
  const res = useApi<EpisodeDetail>(`/api/episodes/${encodeURIComponent(id)}`);
  const d = res.data;
  const heading = useRef<HTMLHeadingElement>(null);
  // Opens in view (a drawer over the list on a phone, beside it on a desk), with focus on it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new episode id is the trigger
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'nearest' });
    heading.current?.focus({ preventScroll: true });
  }, [id]);
  return (
    <aside className="detail" data-testid="episode-detail" aria-label={`Episode ${id}`}>
      <header className="detail-head">
        <h2 className="mono" ref={heading} tabIndex={-1}>
          {id}
        </h2>
        <button type="button" onClick={onClose} aria-label="Close detail (Escape)">
          Close
        </button>
      </header>
      {res.status === 'error' && d === null ? (
        <Notice kind="error" title="Could not load this episode">
          {res.error.message}
        </Notice>
      ) : d === null ? (
        <Notice kind="loading" title="Loading episode…" />
      ) : (
        <>
          <dl className="kv">
            <div>
              <dt>host</dt>
              <dd>
                {d.episode.host_id}
                {d.episode.receiver ? ` · ${d.episode.receiver}` : ''}
              </dd>
            </div>
            <div>
              <dt>received</dt>
              <dd>{formatDateTime(d.episode.received_at)}</dd>
            </div>
            <div>
              <dt>size</dt>
              <dd>
                {formatBytes(d.episode.size_bytes)} ({formatCount(d.episode.size_bytes)} bytes)
              </dd>
            </div>
            <div>
              <dt>status</dt>
              <dd>
                <span className={`status status-${d.episode.status}`}>{d.episode.status}</span>
              </dd>
            </div>
            <div>
              <dt>sha256</dt>
              <dd className="mono wrap" data-testid="detail-sha">
                {d.episode.sha256 ?? '—'}
              </dd>
            </div>
          </dl>
          {d.episode.status === 'corrupt' && (
            <Notice kind="error" title="This tarball is corrupt">
              Its size, its sha256 or its archive does not check out: what you download is the damaged file as
              it arrived. Re-ship the episode from its host.
            </Notice>
          )}
          {d.download_url ? (
            <a className="button" href={d.download_url} download data-testid="download">
              {d.episode.status === 'corrupt' ? 'Download the damaged .tar.zst' : 'Download .tar.zst'}
            </a>
          ) : (
            <p className="muted">The tarball is not on disk.</p>
          )}
          {d.read_error !== null && (
            <Notice kind="error" title="Part of this episode could not be read">
              {d.read_error}
            </Notice>
          )}
          <h3>Phase timeline</h3>
          <Timeline labels={d.labels} />
          <h3>Metadata</h3>
          <Meta meta={d.meta} />
          <h3>Members ({formatCount(d.members.length)})</h3>
          {d.members.length === 0 ? (
            <p className="muted">No member list.</p>
          ) : (
            <table className="table members">
              <tbody>
                {d.members.map((m) => (
                  <tr key={m.name}>
                    <td className="mono wrap">{m.name}</td>
                    <td className="num">{formatBytes(m.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}
