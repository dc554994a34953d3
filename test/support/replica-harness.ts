/** Test helpers for replicas (`serve --redis`): receivers appending directly, waiting for a seq. */
import { onTestFinished } from 'vitest';
import type { DashboardState, UnsequencedEvent } from '../../src/protocol/index.js';
import { Replica, type ReplicaOptions } from '../../src/replica/replica.js';
import type { RedisStreamLog } from '../../src/scaleout/redis-stream-log.js';
import { createLogger } from '../../src/util/log.js';
import { tempDir } from './tmp.js';

/** A replica with its own temp state dir, stopped when the test finishes. */
export async function startReplica(
  url: string,
  stateDir: string = tempDir('cis490-replica-'),
  more: Partial<ReplicaOptions> = {},
): Promise<Replica> {
  const replica = await Replica.start({
    redisUrl: url,
    stateDir,
    logger: createLogger({ level: 'silent' }),
    replayBuffer: 1000,
    ...more,
  });
  onTestFinished(() => replica.stop());
  return replica;
}

/** Resolves once the replica's feed has applied `seq` (woken by its events, no polling). */
export function until(replica: Replica, seq: number): Promise<void> {
  if (replica.feed.seq >= seq) return Promise.resolve();
  return new Promise((resolve) => {
    const off = replica.feed.subscribe(() => {
      if (replica.feed.seq >= seq) {
        off();
        resolve();
      }
    });
  });
}

/** Receiver `r`'s episode `i` (host `host-<i % hosts>`), with a size and a time. */
export function receiverEpisode(r: string, i: number, hosts = 2): UnsequencedEvent {
  return {
    type: 'episode',
    episode_id: `${r}-ep-${i}`,
    host_id: `host-${i % hosts}`,
    sha256: null,
    size_bytes: 1000 + i,
    received_at: new Date(Date.UTC(2026, 11, 4, 0, 0, i)).toISOString(),
  };
}

export function receiverAlert(r: string, i: number): UnsequencedEvent {
  return {
    type: 'alert',
    host_id: 'host-0',
    symptom: 'disk',
    detail: `${r} alert ${i}`,
    suggested_fix: null,
    detected_at: new Date(Date.UTC(2026, 11, 4, 0, 0, i)).toISOString(),
    dedup_key: `${r}-disk`,
  };
}

/** What an agent keeps for one receiver: a single-box state, folded from its own events. */
export interface Lab {
  receiver: string;
  episodes: number;
  alerts: number;
  bytes: number;
  hostEpisodes: Map<string, number>;
}

export function newLab(receiver: string): Lab {
  return { receiver, episodes: 0, alerts: 0, bytes: 0, hostEpisodes: new Map() };
}

/** Appends `count` episodes and one alert of the lab, one batch per 10 events; returns the last seq. */
export async function appendLab(log: RedisStreamLog, lab: Lab, count: number): Promise<number> {
  let last = 0;
  const events: UnsequencedEvent[] = [];
  for (let i = lab.episodes; i < lab.episodes + count; i++) events.push(receiverEpisode(lab.receiver, i));
  events.push(receiverAlert(lab.receiver, lab.alerts));
  for (let k = 0; k < events.length; k += 10) {
    const result = await log.append({ receiver: lab.receiver, events: events.slice(k, k + 10) });
    if (result.status === 'appended') last = result.lastSeq;
  }
  for (const e of events) {
    if (e.type === 'episode') {
      lab.bytes += e.size_bytes ?? 0;
      lab.hostEpisodes.set(e.host_id, (lab.hostEpisodes.get(e.host_id) ?? 0) + 1);
    }
  }
  lab.episodes += count;
  lab.alerts += 1;
  return last;
}

/** The lab's state as its agent would snapshot it (the fields a replica reads). */
export function labState(lab: Lab): Partial<DashboardState> {
  const hosts_indexed: DashboardState['hosts_indexed'] = {};
  for (const [host, n] of lab.hostEpisodes)
    hosts_indexed[host] = { episodes: n, bytes: 0, last_received_at: null };
  return {
    total_episodes: lab.episodes,
    total_alerts: lab.alerts,
    total_bytes: lab.bytes,
    hosts_indexed,
    ready: true,
  };
}

/** Writes the lab's snapshot at `seq` the way keys.ts documents it (hash seq + state JSON). */
export async function writeSnapshot(log: RedisStreamLog, lab: Lab, seq: number): Promise<void> {
  await log.command(['SADD', log.keys.receivers, lab.receiver]);
  await log.command([
    'HSET',
    log.keys.snapshot(lab.receiver),
    'seq',
    String(seq),
    'state',
    JSON.stringify(labState(lab)),
  ]);
}

/** The totals a replica must show for these labs. */
export function sums(labs: readonly Lab[]): {
  total_episodes: number;
  total_alerts: number;
  total_bytes: number;
} {
  return {
    total_episodes: labs.reduce((n, l) => n + l.episodes, 0),
    total_alerts: labs.reduce((n, l) => n + l.alerts, 0),
    total_bytes: labs.reduce((n, l) => n + l.bytes, 0),
  };
}
