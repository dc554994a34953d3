import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { EpisodeFacets, EpisodesPage } from '../../../protocol/api.js';
import {
  DEFAULT_SORT,
  type EpisodeSort,
  FilterError,
  isDefaultSort,
} from '../../../protocol/episode-filter.js';
import { ErrorBoundary } from '../../app/ErrorBoundary.js';
import { hashFor } from '../../app/routes.js';
import { SceneGate } from '../../app/SceneGate.js';
import { useSetParams } from '../../app/useRoute.js';
import { Notice, Widget } from '../../app/Widget.js';
import { ApiFailure, getJson, useApi } from '../../data/api.js';
import {
  EMPTY_FILTER,
  type EpisodeFilter,
  fetchAllEpisodes,
  filterFromParams,
  filterToParams,
  matchesFilter,
  parsedFilter,
  parsedSort,
  sortFromParams,
  withSort,
} from '../../data/episodes.js';
import { formatCount } from '../../data/format.js';
import { useNow, useStore } from '../../data/hooks.js';
import { EpisodeDetailPanel } from './EpisodeDetail.js';
import { EpisodeTable, type Row } from './EpisodeTable.js';
import { saveText, toCsv, toNdjson } from './export.js';
import { FilterBar } from './FilterBar.js';

const PAGE_SIZE = 50;
const EXPORT_MAX = 200_000;

interface Loaded {
  page: EpisodesPage;
  /** The store's episode-event counter when this page was asked for: later live episodes are not in it. */
  asOf: number;
}

/** True while the person is reading the table: pointer or focus inside it, or scrolled down. */
function useReading(): [
  boolean,
  { onPointerEnter: () => void; onPointerLeave: () => void; onFocus: () => void; onBlur: () => void },
] {
  const [pointer, setPointer] = useState(false);
  const [focus, setFocus] = useState(false);
  const [scrolled, setScrolled] = useState(false);
  useEffect(() => {
    const onScroll = (): void => setScrolled(window.scrollY > 80);
    addEventListener('scroll', onScroll, { passive: true });
    return () => removeEventListener('scroll', onScroll);
  }, []);
  return [
    pointer || focus || scrolled,
    {
      onPointerEnter: () => setPointer(true),
      onPointerLeave: () => setPointer(false),
      onFocus: () => setFocus(true),
      onBlur: () => setFocus(false),
    },
  ];
}

/** Focuses the episode button of row `id` in `table`; the first row's (or the table's first control) when it is gone. */
function focusRow(table: HTMLElement | null, id: string): void {
  if (table === null) return;
  const rows = [...table.querySelectorAll<HTMLElement>('[data-testid="episode-row"]')];
  const row = rows.find((r) => r.dataset.episode === id) ?? rows[0];
  (row ?? table).querySelector<HTMLElement>('button')?.focus();
}

/** On the wall (`kiosk`) the Explorer is the live list only: no filters or exports nobody can use. */
export function ExplorerScene({ params, kiosk = false }: { params: URLSearchParams; kiosk?: boolean }) {
  const paramsKey = params.toString();
  const filter = useMemo(() => filterFromParams(new URLSearchParams(paramsKey)), [paramsKey]);
  const selected = new URLSearchParams(paramsKey).get('episode');
  const filterKey = filterToParams(filter).toString();
  const sort = useMemo(() => sortFromParams(new URLSearchParams(paramsKey)), [paramsKey]);
  const sortKey = `${sort.sort}:${sort.order}`;
  const sorted = !isDefaultSort(sort);
  const setParams = useSetParams('explorer');

  const episodeEvents = useStore((s) => s.episodeEvents);
  const helloCount = useStore((s) => s.helloCount);
  const recent = useStore((s) => s.state.recent_episodes);
  const now = useNow(10_000);

  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [applied, setApplied] = useState(episodeEvents);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [reading, readingHandlers] = useReading();
  const [exporting, setExporting] = useState<string | null>(null);

  // Live rows flow in by themselves only on the first page, with no detail open and nobody reading;
  // otherwise they wait behind the "N new" banner so the table never moves under someone's eyes.
  const auto = cursors.length === 1 && selected === null && !reading;
  const episodeEventsRef = useRef(episodeEvents);
  episodeEventsRef.current = episodeEvents;

  // Refetch at most once a second while live rows flow in (the rows themselves show at once).
  useEffect(() => {
    if (!auto || applied === episodeEvents) return;
    const id = setTimeout(() => setApplied(episodeEventsRef.current), 1000);
    return () => clearTimeout(id);
  }, [auto, applied, episodeEvents]);

  // A new filter or order starts at page one.
  // biome-ignore lint/correctness/useExhaustiveDependencies: filterKey and sortKey are triggers, not values read
  useEffect(() => setCursors([null]), [filterKey, sortKey]);

  // A bad order in the URL (`sort=size&order=up`) is as bad as a bad filter: said, not silently replaced.
  const invalid = useMemo(() => {
    const parsed = parsedFilter(filter);
    if (parsed instanceof FilterError) return parsed;
    const order = parsedSort(new URLSearchParams(paramsKey));
    return order instanceof FilterError ? order : null;
  }, [filter, paramsKey]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `applied` and `helloCount` are refresh triggers
  useEffect(() => {
    if (invalid !== null) return;
    const controller = new AbortController();
    const q = withSort(filterToParams(filter), sort);
    q.set('limit', String(PAGE_SIZE));
    if (cursor !== null) q.set('cursor', cursor);
    const asOf = episodeEventsRef.current;
    getJson<EpisodesPage>(`/api/episodes?${q}`, controller.signal).then(
      (page) => {
        setLoaded({ page, asOf });
        setError(null);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) setError(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return () => controller.abort();
  }, [filter, sort, cursor, applied, helloCount, invalid]);

  const refused = error instanceof ApiFailure && error.status === 400;
  const unusable = invalid !== null || refused;

  // Each facet counts under the rest of the filter: choosing one host keeps the other hosts on
  // offer (multi-select), and the same for status.
  const withoutHosts = filterToParams({ ...filter, host: [] }).toString();
  const withoutStatus = filterToParams({ ...filter, status: [] }).toString();
  const withoutPhase = filterToParams({ ...filter, phase: [] });
  withoutPhase.set('with_phases', '1');
  const noFacets = invalid !== null || kiosk;
  const hostFacets = useApi<EpisodeFacets>(
    noFacets ? null : `/api/episodes/facets?${withoutHosts}`,
    applied + helloCount,
    2000,
  );
  const statusFacets = useApi<EpisodeFacets>(
    noFacets ? null : `/api/episodes/facets?${withoutStatus}`,
    applied + helloCount,
    2000,
  );
  const phaseFacets = useApi<EpisodeFacets>(
    noFacets ? null : `/api/episodes/facets?${withoutPhase}`,
    applied + helloCount,
    2000,
  );
  // useApi keeps its last answer when asked for nothing: under a filter that cannot apply those
  // counts were another filter's, so none are shown.
  const facets: { data: EpisodeFacets | null } = {
    data:
      !noFacets && !unusable && hostFacets.data && statusFacets.data
        ? {
            host: hostFacets.data.host,
            status: statusFacets.data.status,
            ...(phaseFacets.data
              ? { phase: phaseFacets.data.phase ?? {}, phase_unknown: phaseFacets.data.phase_unknown ?? 0 }
              : {}),
          }
        : null,
  };

  // The detail is a page of its own in the history: Back closes it, and so does Escape.
  const openDetail = useCallback(
    (id: string) => {
      const p = withSort(filterToParams(filter), sort);
      p.set('episode', id);
      history.pushState({ cis490Detail: true }, '', hashFor('explorer', p));
      dispatchEvent(new HashChangeEvent('hashchange'));
    },
    [filter, sort],
  );
  const closeDetail = useCallback(() => {
    if ((history.state as { cis490Detail?: boolean } | null)?.cis490Detail) history.back();
    else setParams(withSort(filterToParams(filter), sort));
  }, [filter, sort, setParams]);
  // When the detail closes (Escape, Close or Back) its focused heading leaves the page and the focus
  // would fall to the body: it goes back to the row that was open, or the table when that row is gone.
  const tableRef = useRef<HTMLDivElement>(null);
  const lastSelected = useRef(selected);
  useEffect(() => {
    const closed = lastSelected.current;
    lastSelected.current = selected;
    if (selected !== null || closed === null) return;
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (lost) focusRow(tableRef.current, closed);
  }, [selected]);
  useEffect(() => {
    if (selected === null) return;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') closeDetail();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [selected, closeDetail]);

  // A filter that cannot apply (checked here, or refused by the server) matches nothing: the last
  // page loaded belongs to another filter, so its rows, count and paging must not be shown as this one's.
  const page = unusable ? null : (loaded?.page ?? null);
  const ids = useMemo(() => new Set(page?.items.map((i) => i.episode_id)), [page]);
  // recent[i] arrived as episode event number (episodeEvents - i). Rows after the page's `asOf` are
  // not in it yet; of those, the ones up to `accepted` are shown, the rest wait behind the banner.
  // What was on screen when auto stopped stays on screen (a hover must not hide rows).
  const shownUpTo = useRef(episodeEvents);
  if (auto) shownUpTo.current = episodeEvents;
  const accepted = auto ? episodeEvents : Math.max(applied, shownUpTo.current, loaded?.asOf ?? 0);
  const between = (newest: number, oldest: number): Row[] =>
    recent
      .slice(
        Math.max(0, episodeEvents - newest),
        Math.max(0, Math.min(recent.length, episodeEvents - oldest)),
      )
      .filter((ep) => !ids.has(ep.episode_id) && matchesFilter(ep, filter))
      .map((ep) => ({ ...ep, live: true }));
  // Live rows go on top only in the default order (newest first); sorted otherwise, the next
  // fetch puts them in their place.
  const liveRows = loaded && page && cursors.length === 1 && !sorted ? between(accepted, loaded.asOf) : [];
  const waiting = loaded && page && !auto ? between(episodeEvents, accepted).length : 0;

  const update = useCallback(
    (next: EpisodeFilter, nextSort: EpisodeSort = sort) => {
      setParams(withSort(filterToParams(next), nextSort));
    },
    [setParams, sort],
  );
  const showNew = (): void => {
    setCursors([null]);
    shownUpTo.current = episodeEvents;
    setApplied(episodeEvents);
    window.scrollTo({ top: 0 });
  };

  const runExport = (kind: 'csv' | 'ndjson'): void => {
    setExporting('starting…');
    fetchAllEpisodes(withSort(filterToParams(filter), sort), EXPORT_MAX, undefined, (n, total) =>
      setExporting(`${formatCount(n)} of ${formatCount(total)}`),
    )
      .then(({ items }) => {
        const stamp = new Date().toISOString().replaceAll(':', '-').slice(0, 19);
        if (kind === 'csv') saveText(toCsv(items), `episodes-${stamp}.csv`, 'text/csv');
        else saveText(toNdjson(items), `episodes-${stamp}.ndjson`, 'application/x-ndjson');
        setExporting(null);
      })
      .catch((err: unknown) => setExporting(`failed: ${err instanceof Error ? err.message : String(err)}`));
  };

  // Live rows go on top of the page until the next fetch absorbs them; the table never holds more
  // than a page (a wall display runs for weeks, and a slow fetch must not let it grow). While rows
  // are cut from the bottom, "Older" waits for that fetch, so paging never skips them.
  const allRows: Row[] = [...liveRows, ...(page?.items ?? [])];
  const rows = allRows.slice(0, PAGE_SIZE);
  const catchingUp = allRows.length > PAGE_SIZE;
  return (
    <SceneGate>
      <div className={`explorer ${selected ? 'with-detail' : ''}`}>
        <Widget
          title="Episodes"
          aside={
            page && (
              <>
                <span data-testid="explorer-total">{formatCount(page.total)}</span> match
                {liveRows.length > 0 ? ` · ${formatCount(liveRows.length)} just in` : ''}
              </>
            )
          }
        >
          {!kiosk && <FilterBar filter={filter} facets={facets.data} onChange={(f) => update(f)} />}
          {!kiosk && (
            <div className="toolbar">
              <button
                type="button"
                onClick={() => runExport('csv')}
                disabled={unusable || (exporting !== null && !exporting.startsWith('failed'))}
              >
                Export CSV
              </button>
              <button
                type="button"
                onClick={() => runExport('ndjson')}
                disabled={unusable || (exporting !== null && !exporting.startsWith('failed'))}
              >
                Export NDJSON
              </button>
              {exporting !== null && <span className="muted">Export {exporting}</span>}
              {filterKey !== '' && (
                <button type="button" className="link" onClick={() => update(EMPTY_FILTER)}>
                  Clear filter
                </button>
              )}
            </div>
          )}
          {waiting > 0 && (
            <button type="button" className="new-banner" onClick={showNew} data-testid="new-banner">
              {formatCount(waiting)} new {waiting === 1 ? 'episode' : 'episodes'} — show
            </button>
          )}
          {invalid !== null ? (
            <Notice kind="error" title="This filter cannot be applied">
              {invalid.message}
              {(invalid.param === 'sort' || invalid.param === 'order') && (
                // No table to click a header on: the way back to an order is here.
                <>
                  {' '}
                  <button type="button" className="link" onClick={() => update(filter, DEFAULT_SORT)}>
                    Show newest first
                  </button>
                </>
              )}
            </Notice>
          ) : refused ? (
            <Notice kind="error" title="The server refused this filter">
              {error.message}
            </Notice>
          ) : (
            error !== null && (
              <Notice kind="error" title="The episode catalog did not answer">
                {error.message}
              </Notice>
            )
          )}
          {page === null ? (
            error === null && invalid === null && <Notice kind="loading" title="Loading episodes…" />
          ) : rows.length === 0 ? (
            <Notice kind="empty" title={filterKey ? 'No episode matches this filter' : 'No episodes yet'}>
              {filterKey ? 'Loosen the filter or clear it.' : 'Episodes appear here as hosts ship them.'}
            </Notice>
          ) : (
            <div className="table-wrap" ref={tableRef} {...readingHandlers}>
              <EpisodeTable
                rows={rows}
                now={now}
                selected={selected}
                onSelect={openDetail}
                sort={sort}
                onSort={(next) => update(filter, next)}
                kiosk={kiosk}
              />
            </div>
          )}
          {!kiosk && (
            <div className="pager">
              <button
                type="button"
                disabled={cursors.length <= 1}
                onClick={() => setCursors((c) => c.slice(0, -1))}
              >
                ← Newer
              </button>
              <span className="muted">Page {cursors.length}</span>
              <button
                type="button"
                disabled={!page?.next_cursor || catchingUp}
                onClick={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor])}
              >
                Older →
              </button>
            </div>
          )}
        </Widget>
        {selected !== null && (
          <ErrorBoundary name="Episode detail">
            <EpisodeDetailPanel id={selected} onClose={closeDetail} />
          </ErrorBoundary>
        )}
      </div>
    </SceneGate>
  );
}
