import { buildEpisodeTarball } from '../generate/episode.js';
import { wallAs } from '../generate/line-style.js';
import { drawAlert } from '../generate/records.js';
import type { Rng } from '../generate/rng.js';
import { planLiveEpisode } from './episodes.js';
import type { Receiver } from './receiver.js';

/**
 * The recent past of a fresh demo: episodes and alerts spread over the last `spanMs`, written
 * through the receiver like everything else, so the charts have a history that leads into the
 * live numbers (the generator's fixed base time lies weeks back).
 */
export interface BackfillOptions {
  receiver: Receiver;
  hosts: readonly string[];
  episodes: number;
  alerts: number;
  /** How far back the history reaches, ms. */
  spanMs: number;
  nowMs: number;
  telemetryKb: number;
  rng: Rng;
}

export async function backfill(o: BackfillOptions): Promise<void> {
  const start = o.nowMs - o.spanMs;
  const clock = { bootMs: start - 2 * 86_400_000 };
  for (let i = 0; i < o.episodes; i++) {
    const landsAtMs = start + Math.floor(((i + o.rng.next()) * o.spanMs) / Math.max(1, o.episodes));
    const hostId = o.rng.pick(o.hosts);
    const plan = planLiveEpisode(hostId, clock, landsAtMs, o.telemetryKb, o.rng);
    await o.receiver.landEpisode(
      hostId,
      plan.spec.episodeId,
      buildEpisodeTarball(plan),
      wallAs('python', landsAtMs, o.rng),
    );
  }
  for (let i = 0; i < o.alerts; i++) {
    const atMs = start + Math.floor(((i + o.rng.next()) * o.spanMs) / Math.max(1, o.alerts));
    const alert = drawAlert(o.rng, o.rng.pick(o.hosts), atMs);
    // A corrupt-episode alert needs a damaged episode to be about; the live run makes those.
    if (alert.symptom !== 'episode_corrupt') await o.receiver.appendAlert(alert);
  }
}
