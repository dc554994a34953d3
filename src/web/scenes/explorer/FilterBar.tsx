import { useEffect, useState } from 'react';
import { EPISODE_STATUSES, type EpisodeFacets } from '../../../protocol/api.js';
import { own } from '../../../protocol/index.js';
import type { EpisodeFilter } from '../../data/episodes.js';
import { formatCount } from '../../data/format.js';
import { useHostLabel } from '../../data/hooks.js';

interface Props {
  filter: EpisodeFilter;
  facets: EpisodeFacets | null;
  onChange: (filter: EpisodeFilter) => void;
}

function toggle(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** `datetime-local` wants "YYYY-MM-DDTHH:MM" in local time; the API gets ISO-8601 UTC. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
function fromLocalInput(value: string): string {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function FilterBar({ filter, facets, onChange }: Props) {
  // The search box is debounced: typing a hash prefix should not fire a query per key.
  const [q, setQ] = useState(filter.q);
  useEffect(() => setQ(filter.q), [filter.q]);
  useEffect(() => {
    if (q === filter.q) return;
    const id = setTimeout(() => onChange({ ...filter, q }), 300);
    return () => clearTimeout(id);
  }, [q, filter, onChange]);

  // Byte bounds are debounced like the search box: typing 10000 must not fire five queries.
  const [sizes, setSizes] = useState({ min_size: filter.min_size, max_size: filter.max_size });
  useEffect(
    () => setSizes({ min_size: filter.min_size, max_size: filter.max_size }),
    [filter.min_size, filter.max_size],
  );
  useEffect(() => {
    if (sizes.min_size === filter.min_size && sizes.max_size === filter.max_size) return;
    const id = setTimeout(() => onChange({ ...filter, ...sizes }), 400);
    return () => clearTimeout(id);
  }, [sizes, filter, onChange]);

  const hostCounts = facets?.host ?? {};
  // A replica's facets key hosts `<receiver>/<host>`: shown `host-a · rack-2` where names repeat.
  const label = useHostLabel();
  const hosts = [...new Set([...Object.keys(hostCounts), ...filter.host])].sort();
  const statuses = EPISODE_STATUSES.filter((s) => (facets?.status[s] ?? 0) > 0 || filter.status.includes(s));
  const phaseCounts = facets?.phase ?? {};
  const phases = [...new Set([...Object.keys(phaseCounts), ...filter.phase])].sort();
  const unknown = facets?.phase_unknown ?? 0;

  return (
    <div className="filters">
      <form
        className="search"
        onSubmit={(e) => {
          e.preventDefault();
          onChange({ ...filter, q });
        }}
      >
        <input
          type="search"
          placeholder="Episode id or sha256 prefix"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          aria-label="Search by episode id or sha256 prefix"
          data-testid="explorer-search"
        />
      </form>
      <div className="range">
        <label>
          From{' '}
          <input
            type="datetime-local"
            value={toLocalInput(filter.from)}
            onChange={(e) => onChange({ ...filter, from: fromLocalInput(e.target.value) })}
          />
        </label>
        <label>
          To{' '}
          <input
            type="datetime-local"
            value={toLocalInput(filter.to)}
            onChange={(e) => onChange({ ...filter, to: fromLocalInput(e.target.value) })}
          />
        </label>
        <label>
          Min bytes{' '}
          <input
            type="number"
            min={0}
            value={sizes.min_size}
            onChange={(e) => setSizes((v) => ({ ...v, min_size: e.target.value }))}
            data-testid="explorer-min-size"
          />
        </label>
        <label>
          Max bytes{' '}
          <input
            type="number"
            min={0}
            value={sizes.max_size}
            onChange={(e) => setSizes((v) => ({ ...v, max_size: e.target.value }))}
            data-testid="explorer-max-size"
          />
        </label>
      </div>
      <fieldset className="chips">
        <legend className="sr-only">Hosts</legend>
        {hosts.map((h) => (
          <button
            type="button"
            key={h}
            className="chip"
            aria-pressed={filter.host.includes(h)}
            onClick={() => onChange({ ...filter, host: toggle(filter.host, h) })}
            data-testid="facet-host"
            data-host={h}
          >
            {label(h)} <span className="chip-count">{formatCount(own(hostCounts, h) ?? 0)}</span>
          </button>
        ))}
      </fieldset>
      <fieldset className="chips">
        <legend className="sr-only">Status</legend>
        {statuses.map((s) => (
          <button
            type="button"
            key={s}
            className={`chip status-${s}`}
            aria-pressed={filter.status.includes(s)}
            onClick={() => onChange({ ...filter, status: toggle(filter.status, s) })}
            data-testid="facet-status"
            data-status={s}
          >
            {s} <span className="chip-count">{formatCount(facets?.status[s] ?? 0)}</span>
          </button>
        ))}
      </fieldset>
      {(phases.length > 0 || unknown > 0) && (
        <fieldset className="chips" data-testid="phase-facets">
          <legend className="sr-only">Phases</legend>
          {phases.map((ph) => (
            <button
              type="button"
              key={ph}
              className="chip"
              aria-pressed={filter.phase.includes(ph)}
              onClick={() => onChange({ ...filter, phase: toggle(filter.phase, ph) })}
              data-testid="facet-phase"
              data-phase={ph}
            >
              {ph} <span className="chip-count">{formatCount(own(phaseCounts, ph) ?? 0)}</span>
            </button>
          ))}
          {unknown > 0 && (
            <span
              className="chip-note"
              data-testid="phase-unknown"
              title="Tarball not read yet by the phase mix, missing or unreadable: no phase filter matches these"
            >
              phase unknown {formatCount(unknown)}
            </span>
          )}
        </fieldset>
      )}
    </div>
  );
}
