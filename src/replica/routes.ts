import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../http/context.js';
import { badQuery, notFound } from '../http/errors.js';
import {
  decodeCursor,
  encodeCursor,
  intParam,
  list,
  type RawQuery,
  receiverList,
  single,
} from '../http/query.js';
import {
  EPISODE_FILTER_QUERY,
  EpisodeDetailSchema,
  EpisodeFacetsSchema,
  EpisodeParams,
  EpisodesPageSchema,
  route,
} from '../http/schemas.js';
import type { EpisodeFacets, EpisodesPage } from '../protocol/api.js';
import {
  type EpisodeFilter,
  type EpisodeSort,
  FilterError,
  parseEpisodeFilter,
  parseEpisodeSort,
} from '../protocol/episode-filter.js';
import type { AgentHeartbeat as FullHeartbeat } from '../scaleout/heartbeat.js';
import { errorMessage } from '../util/errors.js';
import type { ReplicaCatalog, ReplicaCursor, ReplicaFilter } from './catalog.js';

/** What the routes need of the replica: its catalog and where each receiver's agent is. */
export interface ReplicaRoutesSource {
  catalog: ReplicaCatalog;
  /** The agent's heartbeat (`{ url, at }`), null when it expired or was never written. */
  heartbeat(receiver: string): Promise<AgentHeartbeat | null>;
  /** When this replica last heard of the receiver (a heartbeat or a record), ISO-8601 or null. */
  lastSeen(receiver: string): string | null;
}

/** What the routes read of an agent's heartbeat (scaleout/heartbeat.ts has the whole). */
type AgentHeartbeat = Pick<FullHeartbeat, 'url' | 'at'>;

const receiverParam = Type.Optional(
  Type.Union([Type.String(), Type.Array(Type.String())], {
    description: 'Only these receivers (repeatable, or comma-separated).',
  }),
);
const ReplicaEpisodesQuery = Type.Object(
  {
    ...EPISODE_FILTER_QUERY,
    receiver: receiverParam,
    limit: Type.Optional(
      Type.String({ pattern: '^\\d+$', description: 'Rows per page, 1–500 (default 100).' }),
    ),
    cursor: Type.Optional(Type.String({ description: 'The `next_cursor` of the previous page.' })),
    sort: Type.Optional(
      Type.String({
        description:
          'received (default), size, host or status (every row of a replica is unverified: arrival order).',
      }),
    ),
    order: Type.Optional(
      Type.String({ description: 'asc or desc (default: newest, largest first; hosts A→Z).' }),
    ),
  },
  { additionalProperties: false },
);
const ReplicaFacetsQuery = Type.Object(
  { ...EPISODE_FILTER_QUERY, receiver: receiverParam },
  { additionalProperties: false },
);
const ReceiverQuery = Type.Object(
  {
    receiver: Type.Optional(Type.String({ description: 'The receiver holding the episode (when two do).' })),
  },
  { additionalProperties: false },
);

function replicaFilter(q: RawQuery): ReplicaFilter {
  let filter: EpisodeFilter;
  try {
    filter = parseEpisodeFilter({ all: (k) => list(q, k), one: (k) => single(q, k) });
  } catch (err) {
    if (err instanceof FilterError) throw badQuery(err.message);
    throw err;
  }
  return { filter, receivers: receiverList(q) };
}

function replicaSort(q: RawQuery): EpisodeSort {
  try {
    return parseEpisodeSort({ all: (k) => list(q, k), one: (k) => single(q, k) });
  } catch (err) {
    if (err instanceof FilterError) throw badQuery(err.message);
    throw err;
  }
}

function parseCursor(q: RawQuery): ReplicaCursor | null {
  const raw = decodeCursor(q, 3);
  if (raw === undefined) return null;
  const [key, seq, ms] = raw;
  if (
    (key === null || typeof key === 'string' || (typeof key === 'number' && Number.isSafeInteger(key))) &&
    typeof seq === 'number' &&
    Number.isSafeInteger(seq) &&
    (ms === null || (typeof ms === 'number' && Number.isSafeInteger(ms)))
  ) {
    return [key, seq, ms];
  }
  throw badQuery("query parameter 'cursor' is not a cursor this server issued");
}

/** Headers of the agent's answer a viewer needs (body type and size, ranges, download name). */
const PASSED_BACK = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'content-disposition',
  'cache-control',
  'etag',
  'last-modified',
];

/**
 * The explorer on a replica: `/api/episodes` and its facets from the replica's catalog (with
 * `receiver=` as a filter), detail and download proxied to the owning receiver's agent (its URL
 * from its heartbeat; `Authorization` and `Range` passed through), 503 naming the receiver and
 * when it was last seen when the agent is down.
 */
export function replicaEpisodeRoutes(source: ReplicaRoutesSource) {
  return (app: FastifyInstance, _ctx: AppContext): void => {
    const { catalog } = source;
    app.get(
      '/api/episodes',
      {
        schema: route("The replica's catalog of every receiver's episodes, newest first, keyset-paged.", {
          querystring: ReplicaEpisodesQuery,
          ok: EpisodesPageSchema,
        }),
      },
      async (req): Promise<EpisodesPage> => {
        const q = req.query as RawQuery;
        const f = replicaFilter(q);
        const sort = replicaSort(q);
        const limit = intParam(q, 'limit', 1, 500) ?? 100;
        const page = catalog.page(f, sort, parseCursor(q), limit);
        return {
          items: page.items,
          next_cursor: page.next ? encodeCursor(page.next) : null,
          total: page.total,
        };
      },
    );

    app.get(
      '/api/episodes/facets',
      {
        schema: route('Counts by host (`<receiver>/<host>`) and status under the same filters.', {
          querystring: ReplicaFacetsQuery,
          ok: EpisodeFacetsSchema,
        }),
      },
      async (req): Promise<EpisodeFacets> => catalog.facets(replicaFilter(req.query as RawQuery)),
    );

    app.get(
      '/api/episodes/:id',
      {
        schema: route("One episode, from its receiver's agent.", {
          querystring: ReceiverQuery,
          params: EpisodeParams,
          ok: EpisodeDetailSchema,
        }),
      },
      (req, reply) => proxy(source, req, reply, ''),
    );

    app.get(
      '/api/episodes/:id/download',
      {
        schema: route("The tarball, streamed from its receiver's agent (application/zstd).", {
          querystring: ReceiverQuery,
          params: EpisodeParams,
          ok: Type.String({ format: 'binary' }),
          content: 'application/zstd',
        }),
      },
      (req, reply) => proxy(source, req, reply, '/download'),
    );
  };
}

function agentDown(source: ReplicaRoutesSource, reply: FastifyReply, receiver: string, why: string) {
  const lastSeen = source.lastSeen(receiver);
  return reply.code(503).send({
    error: {
      code: 'agent_unavailable',
      message: `the agent of receiver '${receiver}' ${why}; last seen ${lastSeen ?? 'never'}`,
      receiver,
      last_seen: lastSeen,
    },
  });
}

async function proxy(
  source: ReplicaRoutesSource,
  req: FastifyRequest,
  reply: FastifyReply,
  suffix: '' | '/download',
): Promise<FastifyReply> {
  const { id } = req.params as { id: string };
  const wanted = single(req.query as RawQuery, 'receiver');
  const found = source.catalog.find(id, wanted);
  if (!found) throw notFound(`no episode '${id}' in the catalog`);
  const receiver = found.receiver ?? '';
  let beat: AgentHeartbeat | null;
  try {
    beat = await source.heartbeat(receiver);
  } catch (err) {
    req.log.warn({ err, receiver }, 'heartbeat lookup failed');
    return agentDown(source, reply, receiver, `cannot be looked up (${errorMessage(err)})`);
  }
  if (beat === null) return agentDown(source, reply, receiver, 'has no live heartbeat');
  const headers: Record<string, string> = {};
  const { authorization, range } = req.headers;
  if (authorization) headers.authorization = authorization;
  if (range && suffix === '/download') headers.range = range;
  let res: Response;
  try {
    res = await fetch(`${beat.url.replace(/\/+$/, '')}/api/episodes/${encodeURIComponent(id)}${suffix}`, {
      headers,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    req.log.warn({ err, receiver, url: beat.url }, 'agent unreachable');
    return agentDown(source, reply, receiver, `does not answer at ${beat.url}`);
  }
  reply.code(res.status);
  for (const name of PASSED_BACK) {
    const value = res.headers.get(name);
    if (value !== null) reply.header(name, value);
  }
  if (res.body === null) return reply.send();
  if (suffix === '') {
    // The detail, with the receiver named (the agent's own record does not know it).
    const body = (await res.json()) as { episode?: Record<string, unknown> };
    reply.removeHeader('content-length');
    if (res.ok && body.episode) body.episode.receiver = receiver;
    return reply.send(body);
  }
  return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
}
