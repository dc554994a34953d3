import type { Rng } from './rng.js';
import { isoUtc } from './wall.js';

/**
 * The receiver's small records: `index.jsonl` and `alerts.jsonl` lines, `health/<host>.json`.
 * Shared by the generator and the demo's live simulator so both write the same shapes.
 */

/** A line of `index.jsonl`. `received_at_wall` is ISO-8601 or epoch seconds (both occur). */
export interface IndexLine {
  episode_id: string;
  host_id: string;
  sha256: string;
  size_bytes: number;
  received_at_wall: string | number;
  /** Tarball path relative to the data root; absent on some receivers' lines. */
  path?: string;
}

/** A line of `alerts.jsonl`. */
export interface AlertLine {
  host: string;
  symptom: Symptom;
  detail: string;
  suggested_fix: string;
  detected_at_wall: string | number;
  dedup_key: string;
}

/** `health/<host_id>.json`. */
export interface HealthFile {
  host_id: string;
  last_heartbeat_wall: string;
  disk_free_bytes: number;
  disk_total_bytes: number;
  queue_depth: number;
  shipper_version: string;
}

/**
 * One index line as JSON plus `\n`. A template, not `JSON.stringify`: every field is an id, hex,
 * number or ISO time with nothing to escape, and a million lines must stay cheap.
 */
export function formatIndexLine(line: IndexLine): string {
  const at = typeof line.received_at_wall === 'number' ? line.received_at_wall : `"${line.received_at_wall}"`;
  const tail = line.path === undefined ? '' : `,"path":"${line.path}"`;
  return `{"episode_id":"${line.episode_id}","host_id":"${line.host_id}","sha256":"${line.sha256}","size_bytes":${line.size_bytes},"received_at_wall":${at}${tail}}\n`;
}

/**
 * A wall time as receivers write it: mostly ISO-8601 (`Z` with milliseconds, or Python's
 * `+00:00` with microseconds), sometimes epoch seconds as a number.
 */
export function formatWall(ms: number, rng: Rng): string | number {
  const r = rng.next();
  if (r < 0.1) return Math.floor(ms) / 1000;
  const iso = isoUtc(ms);
  if (r < 0.2) return `${iso.slice(0, 23)}${String(rng.int(0, 999)).padStart(3, '0')}+00:00`;
  return iso;
}

export const SYMPTOMS = [
  'disk_low',
  'shipper_stuck',
  'clock_skew',
  'episode_corrupt',
  'heartbeat_missed',
] as const;
export type Symptom = (typeof SYMPTOMS)[number];

const FIXES: Record<Symptom, string> = {
  disk_low: 'Prune shipped episodes on the host (cis490-shipper gc) or grow the volume.',
  shipper_stuck: 'Restart the shipper: systemctl restart cis490-shipper; check the receiver is reachable.',
  clock_skew: 'Check chrony on the host: chronyc tracking; chronyc makestep.',
  episode_corrupt: 'Re-ship the episode from the host: cis490-shipper resend <episode_id>.',
  heartbeat_missed: 'Check the host is up and on the lab network; power-cycle it if it does not answer.',
};

/** Relative frequency of each symptom. */
const SYMPTOM_WEIGHTS: readonly Symptom[] = [
  'heartbeat_missed',
  'heartbeat_missed',
  'heartbeat_missed',
  'disk_low',
  'disk_low',
  'shipper_stuck',
  'shipper_stuck',
  'clock_skew',
  'episode_corrupt',
];

/**
 * An alert about `host` at `atMs`. The dedup key is per host and symptom (per episode for a
 * corrupt episode), so most keys repeat: the Alerts scene folds them into repeat counts.
 */
export function drawAlert(rng: Rng, host: string, atMs: number, episodeId?: string): AlertLine {
  const symptom = rng.pick(SYMPTOM_WEIGHTS);
  let detail: string;
  let key = `${host}:${symptom}`;
  switch (symptom) {
    case 'disk_low':
      detail = `/var/lib/cis490-shipper at ${rng.int(91, 99)}% (${rng.int(2, 20)} GiB free)`;
      break;
    case 'shipper_stuck':
      detail = `queue unchanged for ${rng.int(10, 90)} min, ${rng.int(3, 40)} episodes waiting`;
      break;
    case 'clock_skew':
      detail = `host clock ${rng.pick(['ahead', 'behind'])} by ${rng.range(2, 120).toFixed(1)} s`;
      break;
    case 'episode_corrupt': {
      const id = episodeId ?? 'unknown';
      detail = `${id}: sha256 mismatch after upload`;
      key = `${host}:episode_corrupt:${id}`;
      break;
    }
    case 'heartbeat_missed':
      detail = `no heartbeat for ${rng.int(3, 60)} min`;
      break;
  }
  return {
    host,
    symptom,
    detail,
    suggested_fix: FIXES[symptom],
    detected_at_wall: formatWall(atMs, rng),
    dedup_key: key,
  };
}

const GIB = 1024 ** 3;

/** A host's health file; a `stale` host's heartbeat stopped `staleMs` before `nowMs`. */
export function drawHealth(
  rng: Rng,
  hostId: string,
  nowMs: number,
  opts: { staleMs?: number } = {},
): HealthFile {
  const total = rng.pick([256, 512, 1024]) * GIB;
  const freeShare = rng.chance(0.15) ? rng.range(0.01, 0.06) : rng.range(0.2, 0.8);
  const heartbeatMs = nowMs - (opts.staleMs ?? rng.int(1_000, 30_000));
  return {
    host_id: hostId,
    last_heartbeat_wall: new Date(heartbeatMs).toISOString(),
    disk_free_bytes: Math.floor(total * freeShare),
    disk_total_bytes: total,
    queue_depth: opts.staleMs ? rng.int(5, 40) : rng.int(0, 3),
    shipper_version: rng.chance(0.2) ? 'cis490-shipper 1.7.9' : 'cis490-shipper 1.8.2',
  };
}
