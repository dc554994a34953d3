import { Compressor } from 'zstd-napi';
import type { PhaseTotals } from '../protocol/index.js';
import { Rng } from './rng.js';
import { createTar, type TarEntry } from './tar.js';
import { renderTelemetry, TELEMETRY_FILE } from './telemetry.js';
import { compactUtc } from './wall.js';

/**
 * One synthetic episode: its phase labels, `meta.json`, telemetry, and the `.tar.zst` a host
 * ships. Everything follows from an `EpisodeSpec`, so the generator and the demo's live
 * simulator build the same episode from the same spec.
 */

/** The phases every episode walks through, in order. */
export const PHASES = ['boot', 'baseline', 'infecting', 'infected_running'] as const;
/** The phase an episode that went wrong ends in (shown apart from the others). */
export const FAILED_PHASE = 'failed';
export type PhaseName = (typeof PHASES)[number] | typeof FAILED_PHASE;

/** Share of episodes that end in `failed` when the spec does not force an outcome. */
export const FAILED_SHARE = 0.03;

export const WORKLOADS = [
  'ransomware-sim',
  'cryptominer-sim',
  'botnet-beacon',
  'keylogger-sim',
  'worm-smb',
  'benign-office',
] as const;

export interface EpisodeSpec {
  episodeId: string;
  hostId: string;
  /** Wall time the episode starts, ms since the epoch. */
  startMs: number;
  /** The host's monotonic clock at the start, ns (host uptime; keep below 2^53). */
  monoStartNs: number;
  /** Size of the telemetry member in KiB (before compression). */
  telemetryKb: number;
  /** Seed of this episode's own draws (durations, outcome, workload, telemetry). */
  seed: number;
  /** Drawn from WORKLOADS when absent. */
  workload?: string;
  /** Drawn (FAILED_SHARE failed) when absent. */
  outcome?: 'completed' | 'failed';
}

/** One line of `labels.jsonl`: a phase transition. */
export interface PhaseLabel {
  phase: PhaseName;
  t_mono_ns: number;
  /** ISO-8601 UTC. */
  t_wall: string;
  episode_id: string;
}

/** `meta.json`. */
export interface EpisodeMeta {
  schema_version: 1;
  episode_id: string;
  host_id: string;
  workload: string;
  outcome: 'completed' | 'failed';
  started_at_wall: string;
  ended_at_wall: string;
  t_mono_start_ns: number;
  /** ≥ the last label's `t_mono_ns`: the end of the last phase. */
  t_mono_end_ns: number;
  label_count: number;
  failure?: { phase: PhaseName; reason: string };
  telemetry: { file: string; bytes: number };
  collector_version: string;
}

/** Everything about an episode except its telemetry bytes. */
export interface EpisodePlan {
  spec: EpisodeSpec;
  labels: PhaseLabel[];
  meta: EpisodeMeta;
  /** Wall time the episode ends, ms since the epoch. */
  endMs: number;
  monoEndNs: number;
}

/** Typical duration of each phase in seconds: [min, max] before jitter. */
const PHASE_SECONDS: Record<(typeof PHASES)[number], readonly [number, number]> = {
  boot: [4, 20],
  baseline: [30, 180],
  infecting: [5, 45],
  infected_running: [60, 420],
};
const FAILURE_REASONS = ['vm_crashed', 'sample_did_not_execute', 'phase_timeout', 'snapshot_restore_failed'];
const COLLECTOR_VERSION = 'cis490-collector 2.4.1';
const NS_PER_MS = 1_000_000;

/** Labels, meta and timings of the episode `spec` describes (cheap: no telemetry, no compression). */
export function planEpisode(spec: EpisodeSpec): EpisodePlan {
  const rng = new Rng(spec.seed);
  const workload = spec.workload ?? rng.pick(WORKLOADS);
  const outcome = spec.outcome ?? (rng.chance(FAILED_SHARE) ? 'failed' : 'completed');
  // A failed run stops during one of the later phases (rarely during boot).
  const failAt = outcome === 'failed' ? rng.pick([0, 1, 2, 2, 2, 3, 3]) : -1;

  const labels: PhaseLabel[] = [];
  // Offsets from the start in ns; sub-millisecond jitter as a real monotonic clock has.
  let offsetNs = rng.int(1, 50) * NS_PER_MS + rng.int(0, NS_PER_MS - 1);
  const push = (phase: PhaseName): void => {
    labels.push({
      phase,
      t_mono_ns: spec.monoStartNs + offsetNs,
      t_wall: new Date(spec.startMs + Math.floor(offsetNs / NS_PER_MS)).toISOString(),
      episode_id: spec.episodeId,
    });
  };
  let failure: EpisodeMeta['failure'];
  for (let i = 0; i < PHASES.length; i++) {
    const phase = PHASES[i] as (typeof PHASES)[number];
    push(phase);
    const seconds = phaseSeconds(phase, rng);
    if (i === failAt) {
      // Fails part-way through this phase, then a short teardown as `failed`.
      offsetNs += Math.round(seconds * rng.range(0.1, 0.9) * 1e9);
      push(FAILED_PHASE);
      failure = { phase, reason: rng.pick(FAILURE_REASONS) };
      offsetNs += Math.round(rng.range(0.5, 5) * 1e9);
      break;
    }
    offsetNs += Math.round(seconds * 1e9);
  }
  const monoEndNs = spec.monoStartNs + offsetNs;
  const endMs = spec.startMs + Math.floor(offsetNs / NS_PER_MS);
  const meta: EpisodeMeta = {
    schema_version: 1,
    episode_id: spec.episodeId,
    host_id: spec.hostId,
    workload,
    outcome,
    started_at_wall: new Date(spec.startMs).toISOString(),
    ended_at_wall: new Date(endMs).toISOString(),
    t_mono_start_ns: spec.monoStartNs,
    t_mono_end_ns: monoEndNs,
    label_count: labels.length,
    ...(failure ? { failure } : {}),
    telemetry: { file: TELEMETRY_FILE, bytes: Math.max(0, Math.floor(spec.telemetryKb * 1024)) },
    collector_version: COLLECTOR_VERSION,
  };
  return { spec, labels, meta, endMs, monoEndNs };
}

/** A phase's duration: uniform in its range, stretched now and then (a slow VM, a sluggish sample). */
function phaseSeconds(phase: (typeof PHASES)[number], rng: Rng): number {
  const [lo, hi] = PHASE_SECONDS[phase];
  const base = rng.range(lo, hi);
  return rng.chance(0.05) ? base * rng.range(1.5, 3) : base;
}

/** The phase transitions of `labels.jsonl`, in file order (ascending `t_mono_ns`). */
export function episodeLabels(spec: EpisodeSpec): PhaseLabel[] {
  return planEpisode(spec).labels;
}

/**
 * What a phase mix should count for this episode: one label per transition, and each phase's
 * seconds until the next transition — the last phase's until `meta.t_mono_end_ns`.
 */
export function episodePhaseTotals(plan: EpisodePlan): PhaseTotals {
  const totals = emptyPhaseTotals();
  addPhaseTotals(totals, plan);
  return totals;
}

export function emptyPhaseTotals(): PhaseTotals {
  return { counts: {}, weighted_seconds: {}, sampled_episodes: 0, total_labels: 0 };
}

/** Folds one episode into running totals (counts, seconds, one more sampled episode). */
export function addPhaseTotals(totals: PhaseTotals, plan: EpisodePlan): void {
  const { labels } = plan;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as PhaseLabel;
    const endNs = labels[i + 1]?.t_mono_ns ?? plan.monoEndNs;
    totals.counts[label.phase] = (totals.counts[label.phase] ?? 0) + 1;
    totals.weighted_seconds[label.phase] =
      (totals.weighted_seconds[label.phase] ?? 0) + (endNs - label.t_mono_ns) / 1e9;
  }
  totals.total_labels += labels.length;
  if (labels.length > 0) totals.sampled_episodes += 1;
}

/** Member names inside the tarball, in archive order (after the `<episode_id>/` folder entry). */
export const EPISODE_MEMBERS = ['meta.json', 'labels.jsonl', TELEMETRY_FILE] as const;

/** The tar entries of an episode: its folder, then `meta.json`, `labels.jsonl`, telemetry. */
export function episodeTarEntries(plan: EpisodePlan): TarEntry[] {
  const { spec, meta, labels } = plan;
  const common = { mtime: Math.floor(plan.endMs / 1000), uid: 1000, gid: 1000, uname: 'lab', gname: 'lab' };
  const dir = spec.episodeId;
  const telemetryRng = new Rng(spec.seed).fork(0x7e1e);
  const telemetry = renderTelemetry(
    meta.telemetry.bytes,
    labels,
    spec.monoStartNs,
    plan.monoEndNs,
    telemetryRng,
  );
  return [
    { ...common, name: dir, type: 'directory' },
    { ...common, name: `${dir}/meta.json`, data: `${JSON.stringify(meta, null, 2)}\n` },
    { ...common, name: `${dir}/labels.jsonl`, data: labels.map((l) => `${JSON.stringify(l)}\n`).join('') },
    { ...common, name: `${dir}/${TELEMETRY_FILE}`, data: telemetry },
  ];
}

/** zstd level the receiver's hosts use; level 3 is zstd's own default. */
export const ZSTD_LEVEL = 3;
let compressor: Compressor | undefined;

/** The `.tar.zst` bytes of an episode (a spec, or a plan already made from one). */
export function buildEpisodeTarball(specOrPlan: EpisodeSpec | EpisodePlan): Buffer {
  const plan = 'labels' in specOrPlan ? specOrPlan : planEpisode(specOrPlan);
  if (compressor === undefined) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: ZSTD_LEVEL, contentSizeFlag: true, checksumFlag: true });
  }
  return compressor.compress(createTar(episodeTarEntries(plan)));
}

/** `ep-20261101T120000-<8 hex>`: the episode's start (UTC, to the second) and a unique suffix. */
export function makeEpisodeId(startMs: number, suffixHex: string): string {
  return `ep-${compactUtc(startMs)}-${suffixHex}`;
}
