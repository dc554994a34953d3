import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { HostIndexed, PhaseTotals } from '../protocol/index.js';
import { errnoCode, UsageError } from '../util/errors.js';
import { makeFolder } from '../util/make-folder.js';
import { withWriter } from './chunked-writer.js';
import {
  addPhaseTotals,
  buildEpisodeTarball,
  type EpisodePlan,
  emptyPhaseTotals,
  makeEpisodeId,
  planEpisode,
} from './episode.js';
import { type IndexedTarball, writeIndex } from './index-file.js';
import { formatLine, type LineStyle, wallAs } from './line-style.js';
import { drawAlert, drawHealth } from './records.js';
import { hex8, mix32, Rng } from './rng.js';

/**
 * Writes a synthetic data root (DESIGN §1) for tests, benchmarks and the demo. Deterministic:
 * every byte follows from `seed` and BASE_TIME_MS, never from the clock.
 */

/** The generated lab's first on-disk episode starts here; index-only history lies before it. */
export const BASE_TIME_MS = Date.UTC(2026, 10, 1, 12, 0, 0);

export interface GenerateOptions {
  /** Directory to write; created; refused when it exists and is not empty. */
  out: string;
  /** Number of hosts (`host-01`, ...). */
  hosts: number;
  /** Episode tarballs to write. */
  episodes: number;
  /**
   * Lines in `index.jsonl`. More than `episodes` adds cheap index-only episodes (no tarball, no
   * `path`), older than the rest; fewer is raised to `episodes` (every tarball is indexed).
   * @default episodes
   */
  indexLines?: number;
  /** Lines in `alerts.jsonl`. */
  alerts: number;
  /** Telemetry member size per episode, KiB before compression. */
  telemetryKb: number;
  seed: number;
  /**
   * How `index.jsonl` and `alerts.jsonl` lines are written (see `LINE_STYLES`).
   * @default 'python' — as a Python receiver's `json.dumps` writes them
   */
  indexStyle?: LineStyle;
  onProgress?: (progress: GenerateProgress) => void;
}

export interface GenerateProgress {
  stage: 'episodes' | 'index' | 'alerts' | 'health';
  done: number;
  total: number;
}

/** One episode written to disk: its index line's fields and how its labels end. */
export interface GeneratedEpisode extends IndexedTarball {
  outcome: 'completed' | 'failed';
}

/** What a dashboard reading the root should show, in the wire protocol's names. */
export interface ExpectedTotals {
  /** Unique episode ids in the index. */
  total_episodes: number;
  /** Sum of `size_bytes` over unique ids. */
  total_bytes: number;
  total_alerts: number;
  /** `*.tar.zst` files per host directory (hosts without a directory are absent). */
  host_counts: Record<string, number>;
  /** Bytes of those files per host. */
  host_bytes: Record<string, number>;
  /** Per host, from the index; `last_received_at` normalised to ISO-8601. */
  hosts_indexed: Record<string, HostIndexed>;
  /** Alert lines per dedup key. */
  alert_dedup_keys: Record<string, number>;
  /** Phase mix over every tarball: the last phase runs until `meta.t_mono_end_ns`. */
  phase_mix: PhaseTotals & { population_episodes: number };
}

export interface GenerateSummary {
  out: string;
  seed: number;
  hosts: string[];
  episodesWritten: number;
  failedEpisodes: number;
  indexLines: number;
  indexOnlyEpisodes: number;
  alerts: number;
  /** Bytes of all episode tarballs. */
  tarballBytes: number;
  /** Files under `episodes/` that are not episodes (a temp upload, a checksum file), relative. */
  nonEpisodeFiles: string[];
  /** The tarballs, in received (index) order. */
  episodes: GeneratedEpisode[];
  expected: ExpectedTotals;
}

interface PlannedEpisode {
  plan: EpisodePlan;
  receivedMs: number;
}

const PROGRESS_EVERY = 100;

/**
 * Writes `episodes/<host>/<id>.tar.zst` (plus one temp upload and one `.sha256`, not episodes),
 * `index.jsonl`, `alerts.jsonl` and `health/<host>.json` under `opts.out`, and returns what a
 * dashboard reading it should show. Throws `UsageError` `out_not_empty` / `bad_option`.
 */
export async function generateDataRoot(opts: GenerateOptions): Promise<GenerateSummary> {
  validate(opts);
  await prepareOut(opts.out);
  const rng = new Rng(opts.seed);
  const idKey = rng.u32();
  const hosts = hostIds(opts.hosts);
  const weights = hosts.map(() => rng.range(0.2, 1.8) ** 2);

  const planned = planEpisodes(opts, hosts, weights, rng.fork(1), idKey);
  const written = await writeTarballs(opts, planned, rng.fork(2));
  const extras = await writeNonEpisodeFiles(opts, planned, written, rng.fork(3), idKey);

  const totalLines = Math.max(opts.indexLines ?? opts.episodes, opts.episodes);
  const indexOnly = totalLines - opts.episodes;
  const meanSize = written.length > 0 ? sum(written.map((e) => e.size_bytes)) / written.length : 0;
  const indexTotals = await writeIndex({
    file: path.join(opts.out, 'index.jsonl'),
    hosts,
    weights,
    written,
    indexOnly,
    // Without tarballs to measure, about what zstd makes of the telemetry.
    typicalSize: meanSize > 0 ? meanSize : opts.telemetryKb * 1024 * 0.35 + 1_500,
    historyEndMs: BASE_TIME_MS,
    firstIdCounter: opts.episodes,
    idKey,
    rng: rng.fork(4),
    style: opts.indexStyle ?? 'python',
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });

  const lastMs = planned.reduce((m, p) => Math.max(m, p.receivedMs), BASE_TIME_MS);
  const alertKeys = await writeAlerts(opts, hosts, weights, written, lastMs, rng.fork(5));
  await writeHealth(opts, hosts, lastMs, rng.fork(6));

  const hostCounts: Record<string, number> = {};
  const hostBytes: Record<string, number> = {};
  for (const e of written) {
    hostCounts[e.host_id] = (hostCounts[e.host_id] ?? 0) + 1;
    hostBytes[e.host_id] = (hostBytes[e.host_id] ?? 0) + e.size_bytes;
  }
  const phaseMix = emptyPhaseTotals();
  for (const p of planned) addPhaseTotals(phaseMix, p.plan);
  return {
    out: opts.out,
    seed: opts.seed,
    hosts,
    episodesWritten: written.length,
    failedEpisodes: written.filter((e) => e.outcome === 'failed').length,
    indexLines: totalLines,
    indexOnlyEpisodes: indexOnly,
    alerts: opts.alerts,
    tarballBytes: sum(written.map((e) => e.size_bytes)),
    nonEpisodeFiles: extras,
    episodes: written,
    expected: {
      total_episodes: totalLines,
      total_bytes: indexTotals.totalBytes,
      total_alerts: opts.alerts,
      host_counts: hostCounts,
      host_bytes: hostBytes,
      hosts_indexed: indexTotals.hosts,
      alert_dedup_keys: alertKeys,
      phase_mix: { ...phaseMix, population_episodes: written.length },
    },
  };
}

function validate(opts: GenerateOptions): void {
  const counts = {
    hosts: opts.hosts,
    episodes: opts.episodes,
    alerts: opts.alerts,
    telemetryKb: opts.telemetryKb,
  };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new UsageError('bad_option', `${name} must be a non-negative integer`, { [name]: value });
    }
  }
  if (opts.hosts < 1) throw new UsageError('bad_option', 'hosts must be at least 1', { hosts: opts.hosts });
  if (opts.indexLines !== undefined && (!Number.isInteger(opts.indexLines) || opts.indexLines < 0)) {
    throw new UsageError('bad_option', 'indexLines must be a non-negative integer', {
      indexLines: opts.indexLines,
    });
  }
}

/** A `UsageError` (a `DashboardError` the CLI prints as one line, exit 2) when `out` holds anything. */
async function prepareOut(out: string): Promise<void> {
  try {
    const entries = await fs.promises.readdir(out);
    if (entries.length > 0) {
      throw new UsageError('out_not_empty', `refusing to write into ${out}: it is not empty`, { out });
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOTDIR') {
      throw new UsageError('out_not_empty', `refusing to write ${out}: it, or a folder above it, is a file`, {
        out,
      });
    }
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  makeFolder(out);
}

/** `host-01` ... `host-NN`, zero-padded to at least two digits. */
export function hostIds(n: number): string[] {
  const width = Math.max(2, String(n).length);
  return Array.from({ length: n }, (_, i) => `host-${String(i + 1).padStart(width, '0')}`);
}

/**
 * Each host runs its episodes back to back from BASE_TIME_MS (with pauses), on one monotonic
 * clock since its boot; the receiver gets each tarball a little after it ends.
 */
function planEpisodes(
  opts: GenerateOptions,
  hosts: readonly string[],
  weights: readonly number[],
  rng: Rng,
  idKey: number,
): PlannedEpisode[] {
  const perHost = hosts.map(() => 0);
  const total = sum(weights);
  for (let i = 0; i < opts.episodes; i++) {
    const h = rng.weighted(weights, total);
    perHost[h] = (perHost[h] ?? 0) + 1;
  }
  const planned: PlannedEpisode[] = [];
  let n = 0;
  hosts.forEach((hostId, h) => {
    let wallMs = BASE_TIME_MS + rng.int(0, 600_000);
    // Uptime at the first episode: an hour to three weeks (ns stay far below 2^53).
    let monoNs = rng.int(3_600, 21 * 86_400) * 1e9 + rng.int(0, 999_999_999);
    for (let i = 0; i < (perHost[h] ?? 0); i++, n++) {
      const plan = planEpisode({
        episodeId: makeEpisodeId(wallMs, hex8(mix32(n ^ idKey))),
        hostId,
        startMs: wallMs,
        monoStartNs: monoNs,
        telemetryKb: opts.telemetryKb,
        seed: mix32(idKey + n * 0x9e3779b1),
      });
      const uploadMs = rng.chance(0.03) ? rng.int(60_000, 900_000) : rng.int(500, 20_000);
      planned.push({ plan, receivedMs: plan.endMs + uploadMs });
      const gapMs = rng.chance(0.02) ? rng.int(1_800_000, 4 * 3_600_000) : rng.int(5_000, 60_000);
      const nextMs = plan.endMs + gapMs;
      monoNs += (nextMs - wallMs) * 1e6;
      wallMs = nextMs;
    }
  });
  // Received order; the id breaks ties so the order never depends on the sort's stability.
  return planned.sort(
    (a, b) => a.receivedMs - b.receivedMs || (a.plan.spec.episodeId < b.plan.spec.episodeId ? -1 : 1),
  );
}

function episodePath(hostId: string, episodeId: string): string {
  return `episodes/${hostId}/${episodeId}.tar.zst`;
}

async function writeTarballs(
  opts: GenerateOptions,
  planned: PlannedEpisode[],
  rng: Rng,
): Promise<GeneratedEpisode[]> {
  const made = new Set<string>();
  const written: GeneratedEpisode[] = [];
  for (const [i, { plan, receivedMs }] of planned.entries()) {
    const { hostId, episodeId } = plan.spec;
    if (!made.has(hostId)) {
      await fs.promises.mkdir(path.join(opts.out, 'episodes', hostId), { recursive: true });
      made.add(hostId);
    }
    const tarball = buildEpisodeTarball(plan);
    const rel = episodePath(hostId, episodeId);
    await fs.promises.writeFile(path.join(opts.out, rel), tarball);
    written.push({
      episode_id: episodeId,
      host_id: hostId,
      path: rel,
      sha256: createHash('sha256').update(tarball).digest('hex'),
      size_bytes: tarball.length,
      received_at_wall: wallAs(opts.indexStyle ?? 'python', receivedMs, rng),
      outcome: plan.meta.outcome,
    });
    if ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === planned.length) {
      opts.onProgress?.({ stage: 'episodes', done: i + 1, total: planned.length });
    }
  }
  return written;
}

/**
 * A temp upload in progress (`.tar.zst.tmp`, half a tarball) and a checksum file beside a real
 * episode: a receiver's directories hold both, and neither is an episode.
 */
async function writeNonEpisodeFiles(
  opts: GenerateOptions,
  planned: PlannedEpisode[],
  written: GeneratedEpisode[],
  rng: Rng,
  idKey: number,
): Promise<string[]> {
  const last = planned.at(-1);
  const target = written[rng.int(0, written.length - 1)];
  if (last === undefined || target === undefined) return [];
  const { hostId } = last.plan.spec;
  const startMs = last.plan.endMs + 30_000;
  const plan = planEpisode({
    episodeId: makeEpisodeId(startMs, hex8(mix32(0xffffffff ^ idKey))),
    hostId,
    startMs,
    monoStartNs: last.plan.monoEndNs + 30e9,
    telemetryKb: opts.telemetryKb,
    seed: mix32(idKey ^ 0x5eed),
  });
  const partial = buildEpisodeTarball(plan);
  const tmp = `${episodePath(hostId, plan.spec.episodeId)}.tmp`;
  await fs.promises.writeFile(path.join(opts.out, tmp), partial.subarray(0, Math.ceil(partial.length / 2)));
  const sha = `${target.path}.sha256`;
  await fs.promises.writeFile(path.join(opts.out, sha), `${target.sha256}  ${path.basename(target.path)}\n`);
  return [tmp, sha];
}

/** `alerts.jsonl`: alerts spread over the run, about the hosts (busier hosts complain more). */
async function writeAlerts(
  opts: GenerateOptions,
  hosts: readonly string[],
  weights: readonly number[],
  written: readonly GeneratedEpisode[],
  lastMs: number,
  rng: Rng,
): Promise<Record<string, number>> {
  const keys: Record<string, number> = {};
  const styleRng = rng.fork(11);
  const totalWeight = sum(weights);
  const spanMs = Math.max(3_600_000, lastMs - BASE_TIME_MS);
  const stepMs = spanMs / Math.max(1, opts.alerts);
  await withWriter(path.join(opts.out, 'alerts.jsonl'), async (w) => {
    for (let i = 0; i < opts.alerts; i++) {
      const atMs = BASE_TIME_MS + Math.floor((i + rng.next()) * stepMs);
      const host = hosts[rng.weighted(weights, totalWeight)] as string;
      const episode = written.length > 0 ? written[rng.int(0, written.length - 1)] : undefined;
      const alert = drawAlert(rng, host, atMs, episode?.episode_id);
      keys[alert.dedup_key] = (keys[alert.dedup_key] ?? 0) + 1;
      const text = formatLine(opts.indexStyle ?? 'python', alert, styleRng);
      if (!w.push(text)) await w.write(text);
      if ((i + 1) % 100_000 === 0) opts.onProgress?.({ stage: 'alerts', done: i + 1, total: opts.alerts });
    }
  });
  opts.onProgress?.({ stage: 'alerts', done: opts.alerts, total: opts.alerts });
  return keys;
}

/** `health/<host>.json` for every host; with three hosts or more, one has gone quiet. */
async function writeHealth(
  opts: GenerateOptions,
  hosts: readonly string[],
  nowMs: number,
  rng: Rng,
): Promise<void> {
  await fs.promises.mkdir(path.join(opts.out, 'health'), { recursive: true });
  const stale = hosts.length >= 3 ? rng.int(0, hosts.length - 1) : -1;
  for (const [i, hostId] of hosts.entries()) {
    const health = drawHealth(rng, hostId, nowMs, i === stale ? { staleMs: rng.int(40, 180) * 60_000 } : {});
    await fs.promises.writeFile(
      path.join(opts.out, 'health', `${hostId}.json`),
      `${JSON.stringify(health, null, 2)}\n`,
    );
  }
  opts.onProgress?.({ stage: 'health', done: hosts.length, total: hosts.length });
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
