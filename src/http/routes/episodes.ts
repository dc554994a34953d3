import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { expectedRelPath } from '../../catalog/disk-sync-paths.js';
import { type EpisodeCursor, EpisodeQueries, type SortedCursor } from '../../catalog/episodes-query.js';
import { inlineExplorer } from '../../catalog/explorer-service.js';
import { isFutureDated } from '../../catalog/future-dated.js';
import { labelsWithDurations, metaEndNs, readEpisode } from '../../phasemix/index.js';
import type { EpisodeDetail, EpisodeFacets, EpisodeListItem, EpisodesPage } from '../../protocol/api.js';
import {
  type EpisodeFilter,
  type EpisodeSort,
  FilterError,
  type FilterParams,
  isDefaultSort,
  parseEpisodeFilter,
  parseEpisodeSort,
} from '../../protocol/episode-filter.js';
import type { AppContext } from '../context.js';
import { assertCatalogWritable, badQuery, errorBody, notFound } from '../errors.js';
import { decodeCursor, encodeCursor, intParam, list, type RawQuery, single } from '../query.js';
import { parseRange } from '../range.js';
import {
  DownloadHeaders,
  EpisodeDetailSchema,
  EpisodeFacetsSchema,
  EpisodeParams,
  EpisodesPageSchema,
  EpisodesQuery,
  FacetsQuery,
  NoQuery,
  route,
} from '../schemas.js';

/** The page query plus the row order (`sort`, `order`; checked by protocol/episode-filter.ts). */
const SortedEpisodesQuery = Type.Object(
  {
    ...EpisodesQuery.properties,
    sort: Type.Optional(
      Type.String({
        description: 'received (default), size, host or status (by severity, worst first when asc).',
      }),
    ),
    order: Type.Optional(
      Type.String({
        description: 'asc or desc (default desc for received and size, asc for host and status).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The shared filter and sort rules (protocol/episode-filter.ts) over Fastify's query; bad is a 400. */
function fromQuery<T>(q: RawQuery, parse: (p: FilterParams) => T): T {
  try {
    return parse({ all: (k) => list(q, k), one: (k) => single(q, k) });
  } catch (err) {
    if (err instanceof FilterError) throw badQuery(err.message);
    throw err;
  }
}

function parseFilter(q: RawQuery): EpisodeFilter {
  return fromQuery(q, parseEpisodeFilter);
}

/** A cursor of a sorted page: tagged with its order, so it cannot be replayed under another. */
function parseSortedCursor(q: RawQuery, sort: EpisodeSort): SortedCursor | null {
  const raw = decodeCursor(q, 4);
  if (raw === undefined) return null;
  const [tag, key, src, id] = raw;
  if (
    tag === `${sort.sort}:${sort.order}` &&
    (key === null || typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))) &&
    (src === 0 || src === 1) &&
    typeof id === 'number' &&
    Number.isSafeInteger(id)
  ) {
    return [key, src, id];
  }
  throw badQuery("query parameter 'cursor' is not a cursor this server issued for this sort");
}

function parseCursor(q: RawQuery): EpisodeCursor | null {
  const raw = decodeCursor(q, 3);
  if (raw === undefined) return null;
  const [ms, src, id] = raw;
  if (
    (ms === null || (typeof ms === 'number' && Number.isSafeInteger(ms))) &&
    (src === 0 || src === 1) &&
    typeof id === 'number' &&
    Number.isSafeInteger(id)
  ) {
    return [ms, src, id];
  }
  throw badQuery("query parameter 'cursor' is not a cursor this server issued");
}

/** A download name with nothing a header or a file system could misread. */
export function safeFileName(episodeId: string): string {
  const base = episodeId
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return `${base || 'episode'}.tar.zst`;
}

/**
 * The real path of an episode's file when it may be served: inside `<dataRoot>/episodes/` after
 * every symlink is resolved, and a regular file. Null otherwise (the caller answers 404).
 */
export async function servableFile(dataRoot: string, rel: string | null): Promise<string | null> {
  if (rel === null) return null;
  try {
    const root = await fs.promises.realpath(path.join(dataRoot, 'episodes'));
    const real = await fs.promises.realpath(path.join(dataRoot, rel));
    if (!real.startsWith(root + path.sep)) return null;
    const st = await fs.promises.stat(real);
    return st.isFile() ? real : null;
  } catch {
    return null;
  }
}

function relPathOf(found: { item: EpisodeListItem; indexed: boolean }, dataRoot: string): string | null {
  const { item } = found;
  if (!found.indexed) return item.path ?? null;
  return expectedRelPath(
    { episode_id: item.episode_id, host_id: item.host_id, path: item.path ?? null },
    dataRoot,
  );
}

/**
 * The explorer API over the catalog: `GET /api/episodes` (filtered, keyset-paged),
 * `/api/episodes/facets`, `/api/episodes/:id` (record, meta, labels, members) and
 * `/api/episodes/:id/download` (only files under the data root's `episodes/`).
 */
export function registerEpisodeRoutes(app: FastifyInstance, ctx: AppContext): void {
  const explorer = ctx.explorer ?? inlineExplorer(ctx.catalog);

  const pageSchema = route('The catalog, newest first or in another order, filtered, keyset-paged.', {
    querystring: SortedEpisodesQuery,
    ok: EpisodesPageSchema,
  });
  app.get('/api/episodes', { schema: pageSchema }, async (req): Promise<EpisodesPage> => {
    const q = req.query as RawQuery;
    const filter = parseFilter(q);
    assertCatalogWritable(ctx.catalogHealth.fault);
    const sort = fromQuery(q, parseEpisodeSort);
    const limit = intParam(q, 'limit', 1, 500) ?? 100;
    if (!isDefaultSort(sort)) {
      const sorted = await explorer.pageSorted(filter, sort, parseSortedCursor(q, sort), limit);
      return {
        items: sorted.items,
        next_cursor: sorted.next ? encodeCursor([`${sort.sort}:${sort.order}`, ...sorted.next]) : null,
        total: sorted.total,
      };
    }
    const page = await explorer.page(filter, parseCursor(q), limit);
    return {
      items: page.items,
      next_cursor: page.next ? encodeCursor(page.next) : null,
      total: page.total,
    };
  });

  const facetsSchema = route('Counts by host and status under the same filters.', {
    querystring: FacetsQuery,
    ok: EpisodeFacetsSchema,
  });
  app.get('/api/episodes/facets', { schema: facetsSchema }, async (req): Promise<EpisodeFacets> => {
    const q = req.query as RawQuery;
    const withPhases = single(q, 'with_phases') === '1';
    const filter = parseFilter(q);
    assertCatalogWritable(ctx.catalogHealth.fault);
    const facets: EpisodeFacets = await explorer.facets(filter);
    return withPhases ? { ...facets, ...(await explorer.phaseFacets(filter)) } : facets;
  });

  // A lookup by id (the unique key: one seek) stays on this thread.
  registerEpisodeFileRoutes(app, ctx.dataRoot, new EpisodeQueries(ctx.catalog));
}

/** How the detail and download routes find an episode: its record, and whether the index has it. */
export interface EpisodeLookup {
  find(episodeId: string): { item: EpisodeListItem; indexed: boolean } | null;
}

/**
 * `GET /api/episodes/:id` (record, meta, labels, members) and `GET /api/episodes/:id/download`
 * (only files under the data root's `episodes/`): the single box's, over its catalog, and the
 * scale-out agent's, over its own data root.
 */
export function registerEpisodeFileRoutes(
  app: FastifyInstance,
  dataRoot: string,
  queries: EpisodeLookup,
): void {
  const detailSchema = route('One episode: record, meta.json, labels with durations, members.', {
    querystring: NoQuery,
    params: EpisodeParams,
    ok: EpisodeDetailSchema,
  });
  app.get('/api/episodes/:id', { schema: detailSchema }, async (req): Promise<EpisodeDetail> => {
    const { id } = req.params as { id: string };
    const found = queries.find(id);
    if (!found) throw notFound(`no episode '${id}' in the catalog`);
    const file = await servableFile(dataRoot, relPathOf(found, dataRoot));
    const detail: EpisodeDetail = {
      episode: found.item,
      meta: null,
      labels: [],
      members: [],
      read_error: null,
      download_url: file ? `/api/episodes/${encodeURIComponent(found.item.episode_id)}/download` : null,
      future_dated: isFutureDated(found.item.received_at, Date.now()),
    };
    if (!file) {
      detail.read_error = 'the tarball is not on disk under the data root’s episodes/ folder';
      return detail;
    }
    const contents = await readEpisode(file, { members: true });
    detail.meta = contents.meta;
    detail.labels = labelsWithDurations(contents.labels ?? [], metaEndNs(contents.meta));
    detail.members = contents.members ?? [];
    if (contents.error !== null) detail.read_error = contents.errorDetail ?? contents.error;
    return detail;
  });

  const downloadSchema = route('The tarball, streamed (application/zstd); one byte range on request.', {
    querystring: NoQuery,
    params: EpisodeParams,
    headers: DownloadHeaders,
    ok: Type.String({ format: 'binary' }),
    content: 'application/zstd',
    partial: 'The requested bytes, with Content-Range.',
  });
  app.get('/api/episodes/:id/download', { schema: downloadSchema }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const found = queries.find(id);
    if (!found) throw notFound(`no episode '${id}' in the catalog`);
    const file = await servableFile(dataRoot, relPathOf(found, dataRoot));
    if (!file) throw notFound(`episode '${id}' has no file under the data root's episodes/ folder`);
    let handle: fs.promises.FileHandle;
    try {
      // O_NOFOLLOW: the checked path must not have become a symlink since the check. O_NONBLOCK:
      // a FIFO swapped in since the check must not hold a thread in open(); fstat below refuses it.
      handle = await fs.promises.open(
        file,
        fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK,
      );
    } catch {
      throw notFound(`episode '${id}' has no readable file`);
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw notFound(`episode '${id}' has no file under the data root's episodes/ folder`);
    }
    const name = safeFileName(found.item.episode_id);
    // No validator (ETag, Last-Modified) is issued, so an If-Range cannot match: Range is ignored.
    const range = req.headers['if-range'] === undefined ? parseRange(req.headers.range, st.size) : null;
    reply.header('accept-ranges', 'bytes').header('cache-control', 'no-store');
    if (range?.kind === 'unsatisfiable') {
      await handle.close();
      return reply
        .code(416)
        .header('content-range', `bytes */${st.size}`)
        .send(errorBody('range_not_satisfiable', `the range is outside the file's ${st.size} bytes`));
    }
    reply
      .header('content-type', 'application/zstd')
      .header('content-disposition', `attachment; filename="${name}"`);
    if (range?.kind === 'part') {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${st.size}`)
        .header('content-length', String(range.end - range.start + 1));
      return reply.send(handle.createReadStream({ start: range.start, end: range.end, autoClose: true }));
    }
    reply.header('content-length', String(st.size));
    return reply.send(handle.createReadStream({ autoClose: true }));
  });
}
