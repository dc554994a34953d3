import { useEffect, useState } from 'react';
import { EPISODE_STATUSES, type EpisodeFacets } from '../../../protocol/api.js';
import { parseEpisodeFilter } from '../../../protocol/episode-filter.js';
import { own } from '../../../protocol/index.js';
import type { EpisodeFilter } from '../../data/episodes.js';
import { formatCount } from '../../data/format.js';
import { useHostLabel } from '../../data/hooks.js';
import { parts, type TimeZoneMode, timeZoneLabel, useTimeZoneMode } from '../../data/timezone.js';

interface Props {
  filter: EpisodeFilter;
  facets: EpisodeFacets | null;
  onChange: (filter: EpisodeFilter) => void;
}

function toggle(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

const pad = (v: number, n = 2): string => String(v).padStart(n, '0');

/** A time bound by the filter's own rule (the server's); null when empty or not a time. */
function filterTimeMs(value: string): number | null {
  if (value === '') return null;
  try {
    return parseEpisodeFilter({ all: () => [], one: (k) => (k === 'from' ? value : undefined) }).fromMs;
  } catch {
    return null;
  }
}

/**
 * A `from`/`to` value of the URL as `datetime-local` wants it ("YYYY-MM-DDTHH:MM[:SS]"), in the
 * zone the app shows times in. Read by the filter's own rule (`parseEpisodeFilter`: ISO-8601, a naive one
 * as UTC, or epoch seconds), so the field shows the instant the filter applies; blank when the
 * value names none or a year the field cannot hold.
 */
function toZoneInput(value: string): string {
  const ms = filterTimeMs(value.trim());
  if (ms === null) return '';
  const p = parts(new Date(ms));
  if (p.y < 0 || p.y > 9999) return '';
  const base = `${pad(p.y, 4)}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
  return p.s === 0 ? base : `${base}:${pad(p.s)}`;
}

/** What the person typed, read in the zone the app shows times in, as ISO-8601 UTC for the API. */
function fromZoneInput(value: string, mode: TimeZoneMode): string {
  const m = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?/.exec(value);
  if (!m) return '';
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0] = m.slice(1).map((v) => Number(v ?? 0));
  const date = mode === 'utc' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s)) : new Date(y, mo - 1, d, h, mi, s);
  // Date.UTC and the Date constructor read years 0–99 as 1900–1999.
  if (y < 100) {
    if (mode === 'utc') date.setUTCFullYear(y);
    else date.setFullYear(y);
  }
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
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

  // No facets (loading, or a filter that cannot apply): chips without counts, not counts of 0.
  const hostCounts = facets?.host ?? {};
  // A replica's facets key hosts `<receiver>/<host>`: shown `host-a · rack-2` where names repeat.
  const label = useHostLabel();
  const hosts = [...new Set([...Object.keys(hostCounts), ...filter.host])].sort();
  const statuses = EPISODE_STATUSES.filter((s) => (facets?.status[s] ?? 0) > 0 || filter.status.includes(s));
  const phaseCounts = facets?.phase ?? {};
  const phases = [...new Set([...Object.keys(phaseCounts), ...filter.phase])].sort();
  const unknown = facets?.phase_unknown ?? 0;
  // The time fields are in the zone every time on screen is in (the top bar's local/UTC switch).
  const mode = useTimeZoneMode();
  const zone = timeZoneLabel(mode);

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
          From <span className="range-zone">({zone})</span>{' '}
          <input
            type="datetime-local"
            step={1}
            value={toZoneInput(filter.from)}
            onChange={(e) => onChange({ ...filter, from: fromZoneInput(e.target.value, mode) })}
            data-testid="explorer-from"
          />
        </label>
        <label>
          To <span className="range-zone">({zone})</span>{' '}
          <input
            type="datetime-local"
            step={1}
            value={toZoneInput(filter.to)}
            onChange={(e) => onChange({ ...filter, to: fromZoneInput(e.target.value, mode) })}
            data-testid="explorer-to"
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
            {label(h)} {facets && <span className="chip-count">{formatCount(own(hostCounts, h) ?? 0)}</span>}
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
            {s} {facets && <span className="chip-count">{formatCount(facets.status[s] ?? 0)}</span>}
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
              {ph} {facets && <span className="chip-count">{formatCount(own(phaseCounts, ph) ?? 0)}</span>}
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
