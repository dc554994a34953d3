import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import { defaultRelPath } from '../catalog/disk-sync-paths.js';
import { EPISODE_SUFFIX, isEpisodeFile, isHostFolder } from '../feeders/episode-files.js';
import { createBaseApp } from '../http/app.js';
import type { ReadAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { intParam, type RawQuery, single } from '../http/query.js';
import { type EpisodeLookup, registerEpisodeFileRoutes } from '../http/routes/episodes.js';
import { route } from '../http/schemas.js';
import { checkDataRoot } from '../liveness/data-root-monitor.js';
import type { EpisodeListItem } from '../protocol/api.js';
import type { EpisodeRecord } from '../protocol/index.js';
import { DashboardError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { RowExportPage, RowExportQuery } from './agent.js';

/** Index records with a `path` of their own remembered, at most (oldest forgotten first). */
const PATHS_KEPT = 100_000;

/**
 * Finds an episode of this receiver's data root for the detail and download routes, without a
 * catalog: at `episodes/<host>/<id>.tar.zst` under any host folder, or at the `path` its index
 * line named (remembered for the lines read in this run), by the rule of what an episode file is
 * (no dot folders, no symlinks). The route's path rules decide what may be served (only files
 * under `episodes/`, symlinks resolved).
 */
export class AgentEpisodeLookup implements EpisodeLookup, IngestProjection {
  readonly #dataRoot: string;
  readonly #withPath = new Map<string, EpisodeRecord>();

  constructor(dataRoot: string) {
    this.#dataRoot = dataRoot;
  }

  /** The index batches of the agent's reader (an ingest-log projection): records naming a path. */
  apply(entry: IngestEntry): void {
    if (entry.source !== 'index' || entry.kind !== 'records') return;
    for (const r of entry.records) {
      if (r.path === undefined) continue;
      this.#withPath.delete(r.episode_id);
      this.#withPath.set(r.episode_id, r);
      if (this.#withPath.size > PATHS_KEPT) {
        const oldest = this.#withPath.keys().next().value;
        if (oldest !== undefined) this.#withPath.delete(oldest);
      }
    }
  }

  find(episodeId: string): { item: EpisodeListItem; indexed: boolean } | null {
    const known = this.#withPath.get(episodeId);
    if (known) return { item: { ...known, status: 'unverified' }, indexed: true };
    // An id that could step out of its host folder is no file name: not found. What is an episode
    // file and a host folder is the one rule of every walker of episodes/ (feeders/episode-files.ts).
    if (
      episodeId.includes('/') ||
      episodeId.includes('\0') ||
      !isEpisodeFile(`${episodeId}${EPISODE_SUFFIX}`)
    ) {
      return null;
    }
    let hosts: string[];
    try {
      const entries = fs.readdirSync(path.join(this.#dataRoot, 'episodes'), { withFileTypes: true });
      hosts = entries.filter(isHostFolder).map((e) => e.name);
    } catch {
      return null;
    }
    for (const host of hosts.sort()) {
      const rel = defaultRelPath(host, episodeId);
      let st: fs.Stats;
      try {
        // Not followed: a symlink is no episode file (nor counted, listed or verified as one).
        st = fs.lstatSync(path.join(this.#dataRoot, rel));
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      const item: EpisodeListItem = {
        episode_id: episodeId,
        host_id: host,
        sha256: null,
        size_bytes: st.size,
        received_at: null,
        path: rel,
        status: 'unverified',
      };
      return { item, indexed: false };
    }
    return null;
  }
}

export interface AgentHttpOptions {
  dataRoot: string;
  logger: Logger;
  readAuth: ReadAuth | null;
  lookup: EpisodeLookup;
  /** True once the agent's first pass over the data root was appended. */
  ready(): boolean;
  /** While the agent starts: Redis not answering (the error, since when), else null. */
  redisAway?(): { error: string; since: string } | null;
  /** Another agent writing this receiver's heartbeat (its URL and pid, since when), else null. */
  nameConflict?(): { url: string; pid: number; since: string } | null;
  /** `GET /api/rows`: one page of the row export (absent: no such route). */
  rows?(q: RowExportQuery): Promise<RowExportPage>;
  /** `GET /metrics` (Prometheus text); absent: no such route. */
  metrics?: { render(): Promise<string>; readonly contentType: string };
}

/**
 * The agent's HTTP app, for replicas to proxy to: `GET /api/episodes/:id` and
 * `GET /api/episodes/:id/download` (the single box's routes and rules, over this data root),
 * `GET /livez`, `GET /readyz` and `GET /metrics`; with a read token, every route but `/livez` and
 * `/readyz` requires it.
 */
export async function buildAgentApp(o: AgentHttpOptions): Promise<FastifyInstance> {
  const { app } = await createBaseApp({ logger: o.logger, readAuth: o.readAuth });
  registerEpisodeFileRoutes(app, o.dataRoot, o.lookup);

  const livez = route('200 while the process is up.', { ok: Type.Object({ status: Type.Literal('ok') }) });
  app.get('/livez', { schema: livez }, async () => ({ status: 'ok' }));
  const readyBody = Type.Object({
    ready: Type.Boolean(),
    reason: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  });
  const readyz = route(
    '200 once the first pass over the data root is appended; 503 (with the reason) before, and while another agent writes this receiver’s heartbeat.',
    {
      ok: readyBody,
    },
  );
  readyz.response = { ...(readyz.response as object), 503: readyBody };
  app.get('/readyz', { schema: readyz }, async (_req, reply) => {
    const root = checkDataRoot(o.dataRoot);
    const conflict = o.nameConflict?.() ?? null;
    if (conflict !== null && root.ok) {
      // Its appends mix with another agent's in one receiver: not a state to call ready.
      reply.code(503);
      return {
        ready: false,
        reason: {
          code: 'receiver_name_conflict',
          message: `another agent (${conflict.url}, pid ${conflict.pid}) writes this receiver's heartbeat since ${conflict.since}: two agents run with one --receiver name; give each receiver its own`,
        },
      };
    }
    const ready = o.ready() && root.ok;
    reply.code(ready ? 200 : 503);
    if (ready) return { ready };
    const away = o.redisAway?.() ?? null;
    const reason = !root.ok
      ? { code: 'data_root_unavailable', message: `data root ${root.path} ${root.error}` }
      : away
        ? {
            code: 'redis_unavailable',
            message: `Redis does not answer (since ${away.since}: ${away.error}); the first pass waits for it`,
          }
        : { code: 'starting', message: 'the first pass over the data root is not appended yet' };
    return { ready, reason };
  });
  const { rows, metrics } = o;
  if (rows) registerRowExport(app, rows);
  if (metrics) {
    app.get(
      '/metrics',
      { schema: route('Prometheus text exposition.', { content: 'text/plain' }) },
      async (_req, reply) => {
        reply.type(metrics.contentType);
        return metrics.render();
      },
    );
  }
  return app;
}

/** Rows per page of `GET /api/rows` at most. */
export const ROWS_PAGE_MAX = 10_000;

const RowsQuery = Type.Object(
  {
    epoch: Type.String({ minLength: 1, description: "The stream's epoch the replica builds in." }),
    after: Type.Optional(
      Type.String({ pattern: '^\\d+$', description: 'Rows with a higher seq (default 0).' }),
    ),
    upto: Type.String({ pattern: '^\\d+$', description: 'Rows up to this seq, included.' }),
    limit: Type.Optional(
      Type.String({ pattern: '^\\d+$', description: `Rows per page, 1–${ROWS_PAGE_MAX} (default 5000).` }),
    ),
  },
  { additionalProperties: false },
);

/**
 * `GET /api/rows?epoch=E&after=A&upto=U&limit=N`: this receiver's catalog rows (episode and alert
 * events, receiver named) with `A < seq <= U`, oldest first, as NDJSON: a header line
 * `{"epoch","after","upto","complete","gap"}`, one `{"seq","event"}` line per row, and a last line
 * `{"end":true,"last_seq","more"}` (`more`: ask again with `after=last_seq`). A replica that
 * starts after the stream was trimmed builds its catalog's older rows from these. 409
 * `epoch_mismatch` when the agent appends in another epoch; 503 `agent_starting` before its run.
 */
function registerRowExport(app: FastifyInstance, rows: (q: RowExportQuery) => Promise<RowExportPage>): void {
  app.get(
    '/api/rows',
    {
      schema: route(
        "This receiver's catalog rows with their stream seqs (NDJSON), for rebuilding replicas.",
        {
          querystring: RowsQuery,
          content: 'application/x-ndjson',
        },
      ),
    },
    async (req, reply) => {
      const q = req.query as RawQuery;
      const query: RowExportQuery = {
        epoch: single(q, 'epoch') ?? '',
        after: intParam(q, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0,
        upto: intParam(q, 'upto', 0, Number.MAX_SAFE_INTEGER) ?? 0,
        limit: intParam(q, 'limit', 1, ROWS_PAGE_MAX) ?? 5000,
      };
      let page: RowExportPage;
      try {
        page = await rows(query);
      } catch (err) {
        if (err instanceof DashboardError && err.code === 'epoch_mismatch') {
          throw new HttpError(409, err.code, err.message);
        }
        if (err instanceof DashboardError && err.code === 'agent_starting') {
          throw new HttpError(503, err.code, err.message);
        }
        throw err;
      }
      const { epoch, after, upto } = query;
      const head = JSON.stringify({ epoch, after, upto, complete: page.complete, gap: page.gap });
      const lastSeq = page.rows.at(-1)?.seq ?? after;
      reply.type('application/x-ndjson');
      return Readable.from(
        (function* () {
          yield `${head}\n`;
          let chunk = '';
          for (const r of page.rows) {
            chunk += `{"seq":${r.seq},"event":${r.json}}\n`;
            if (chunk.length >= 65_536) {
              yield chunk;
              chunk = '';
            }
          }
          yield `${chunk}${JSON.stringify({ end: true, last_seq: lastSeq, more: page.more })}\n`;
        })(),
      );
    },
  );
}
