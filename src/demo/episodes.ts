import { type EpisodePlan, makeEpisodeId, planEpisode } from '../generate/episode.js';
import type { Rng } from '../generate/rng.js';

/**
 * The episodes of the live demo. Each is a real generated episode (labels, meta, telemetry) whose
 * phases, minutes long in the dataset, are played live in seconds; its recorded times are set so
 * that it ended just before it lands, as in the lab.
 */

/** A host's monotonic clock: ns since its boot. */
export interface HostClock {
  bootMs: number;
}

/** Gap between an episode's end and its tarball landing at the receiver (packing, upload), ms. */
const UPLOAD_MS: readonly [number, number] = [800, 6_000];

/** The plan of an episode of `hostId` that lands at `landsAtMs`. */
export function planLiveEpisode(
  hostId: string,
  clock: HostClock,
  landsAtMs: number,
  telemetryKb: number,
  rng: Rng,
): EpisodePlan {
  const seed = rng.u32();
  const suffix = rng.hex(8);
  // Durations follow from the seed alone: plan once at time zero to learn the length, then again
  // at the real start (planning is cheap: no telemetry, no compression).
  const length = planEpisode({ episodeId: 'x', hostId, startMs: 0, monoStartNs: 0, telemetryKb, seed }).endMs;
  const startMs = landsAtMs - rng.int(UPLOAD_MS[0], UPLOAD_MS[1]) - length;
  return planEpisode({
    episodeId: makeEpisodeId(startMs, suffix),
    hostId,
    startMs,
    monoStartNs: Math.max(1, startMs - clock.bootMs) * 1e6,
    telemetryKb,
    seed,
  });
}

/**
 * Damages a tarball the way a flaky link or disk does: cut short, or a run of garbage in the
 * middle. The receiver still records the true sha256 of what arrived.
 */
export function corruptTarball(tarball: Buffer, rng: Rng): Buffer {
  if (rng.chance(0.5)) return Buffer.from(tarball.subarray(0, Math.max(1, Math.floor(tarball.length * 0.6))));
  const damaged = Buffer.from(tarball);
  const at = Math.floor(damaged.length / 2);
  for (let i = at; i < Math.min(damaged.length, at + 64); i++) damaged[i] = rng.int(0, 255);
  return damaged;
}
