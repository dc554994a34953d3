import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { IngestEntry, IngestProjection } from '../bus/ingest-log.js';
import { defaultRelPath } from '../catalog/disk-sync-paths.js';
import { createBaseApp } from '../http/app.js';
import type { ReadAuth } from '../http/auth.js';
import { type EpisodeLookup, registerEpisodeFileRoutes } from '../http/routes/episodes.js';
import { route } from '../http/schemas.js';
import { checkDataRoot } from '../liveness/data-root-monitor.js';
import type { EpisodeListItem } from '../protocol/api.js';
import type { EpisodeRecord } from '../protocol/index.js';
import type { Logger } from '../util/log.js';

/** Index records with a `path` of their own remembered, at most (oldest forgotten first). */
const PATHS_KEPT = 100_000;

/**
 * Finds an episode of this receiver's data root for the detail and download routes, without a
 * catalog: at `episodes/<host>/<id>.tar.zst` under any host folder, or at the `path` its index
 * line named (remembered for the lines read in this run). The route's path rules decide what may
 * be served (only files under `episodes/`, symlinks resolved).
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
    // An id that could step out of its host folder is no file name: not found.
    if (
      episodeId === '' ||
      episodeId.includes('/') ||
      episodeId.includes('\0') ||
      episodeId.startsWith('.')
    ) {
      return null;
    }
    let hosts: string[];
    try {
      hosts = fs.readdirSync(path.join(this.#dataRoot, 'episodes'));
    } catch {
      return null;
    }
    for (const host of hosts.sort()) {
      const rel = defaultRelPath(host, episodeId);
      let st: fs.Stats;
      try {
        st = fs.statSync(path.join(this.#dataRoot, rel));
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
    '200 once the first pass over the data root is appended; 503 (with the reason) before.',
    {
      ok: readyBody,
    },
  );
  readyz.response = { ...(readyz.response as object), 503: readyBody };
  app.get('/readyz', { schema: readyz }, async (_req, reply) => {
    const root = checkDataRoot(o.dataRoot);
    const ready = o.ready() && root.ok;
    reply.code(ready ? 200 : 503);
    if (ready) return { ready };
    const reason = root.ok
      ? { code: 'starting', message: 'the first pass over the data root is not appended yet' }
      : { code: 'data_root_unavailable', message: `data root ${root.path} ${root.error}` };
    return { ready, reason };
  });
  const { metrics } = o;
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
