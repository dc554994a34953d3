import type { Rng } from '../generate/rng.js';

/**
 * Who the demo's hosts are and how fast they work. Pure: the simulator turns these numbers into
 * timers. Everything scales with the overall rate, so a test at 20× speed sees the same story
 * (a host going stale, rotations, heartbeats) twenty times sooner.
 */

/** What a host does besides shipping episodes. */
export type HostRole = 'steady' | 'stale' | 'corrupt';

export interface HostProfile {
  hostId: string;
  role: HostRole;
  /** Mean wall time of one of this host's episodes (it runs them back to back), ms. */
  meanEpisodeMs: number;
}

/** The rate the demo was designed around (episodes per minute, all hosts); timings scale from it. */
export const REFERENCE_RATE = 30;

export interface DemoTiming {
  /** Heartbeat period of a healthy host, ms. */
  heartbeatMs: number;
  /** How often the monitor looks at the hosts (and may raise alerts), ms. */
  monitorMs: number;
  /** The stale host works this long before it goes quiet, ms. */
  staleAfterMs: number;
  /** ... and stays quiet this long before it comes back, ms. */
  staleForMs: number;
  /** Period of each log's rotation (kinds alternate; the two logs are offset by half), ms. */
  rotateEveryMs: number;
  /** Share of the corrupt host's episodes that arrive damaged. */
  corruptShare: number;
  /** Chance per host and monitor round of an ordinary alert (disk low, clock skew, ...). */
  alertChance: number;
}

/**
 * Rotations never come closer than this: a tailer must be able to finish the old file before
 * the next rotation (logrotate's own minimum is a run per hour; seconds are already harsh).
 */
export const MIN_ROTATION_GAP_MS = 1_500;

/** Timings for an overall rate of `ratePerMinute` episodes. */
export function demoTiming(ratePerMinute: number): DemoTiming {
  const scale = REFERENCE_RATE / ratePerMinute;
  return {
    heartbeatMs: Math.max(200, 5_000 * scale),
    monitorMs: Math.max(200, 10_000 * scale),
    staleAfterMs: 90_000 * scale,
    staleForMs: 60_000 * scale,
    rotateEveryMs: Math.max(MIN_ROTATION_GAP_MS * 2, 45_000 * scale),
    corruptShare: 0.15,
    alertChance: 0.12,
  };
}

/**
 * One profile per host. Hosts get uneven shares of the overall rate; with two hosts or more the
 * last one goes stale now and then, and the first ships a corrupt tarball now and then.
 */
export function hostProfiles(hostIds: readonly string[], ratePerMinute: number, rng: Rng): HostProfile[] {
  const weights = hostIds.map(() => rng.range(0.5, 1.5));
  const total = weights.reduce((a, b) => a + b, 0);
  return hostIds.map((hostId, i) => {
    const share = (weights[i] as number) / total;
    const role: HostRole =
      hostIds.length >= 2 && i === hostIds.length - 1 ? 'stale' : i === 0 ? 'corrupt' : 'steady';
    return { hostId, role, meanEpisodeMs: 60_000 / (ratePerMinute * share) };
  });
}

/**
 * When each phase of an episode starts in the live run, as offsets from its start in ms: the
 * episode's real phase durations (from its labels) squeezed into `liveMs`.
 */
export function livePhaseOffsets(labelTimesNs: readonly number[], endNs: number, liveMs: number): number[] {
  const first = labelTimesNs[0];
  if (first === undefined) return [];
  const span = Math.max(1, endNs - first);
  return labelTimesNs.map((t) => Math.round(((t - first) / span) * liveMs));
}
