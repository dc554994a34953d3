/**
 * Done-when 4 of issue 13 end to end: three receivers (generated data roots, real `agent`
 * processes) × two replicas (real `serve --redis` processes): each replica's totals equal the
 * sums over the files, and the two catalogs are identical at equal applied seq.
 * Needs `npm run build:server`.
 */
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../test/support/cli.js';
import { redisServer } from '../../test/support/redis-server.js';
import { startAgentProcess, startReplicaProcess } from '../../test/support/replica-process.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import { TestClient } from '../../test/support/ws-harness.js';
import type { Snapshot } from '../protocol/index.js';
import { ReplicaCatalog } from './catalog.js';

/** Resolves once the client's state (hello + events) satisfies `ok`, checked at every message. */
function stateReaches(client: TestClient, ok: (seq: number, s: Snapshot) => boolean): Promise<void> {
  const check = () => {
    if (client.messages.length === 0) return false;
    const last = client.messages.at(-1);
    return ok(last?.seq ?? 0, client.foldState());
  };
  if (check()) return Promise.resolve();
  return new Promise((resolve) => {
    const on = () => {
      if (check()) {
        client.ws.off('message', on);
        resolve();
      }
    };
    client.ws.on('message', on);
  });
}

describe('scale-out end to end (real agents and replicas)', () => {
  test('(4) three receivers × two replicas: totals are the sums over the files; catalogs identical at equal seq', async () => {
    const redis = await redisServer();
    const receivers = [
      // rack-a and rack-b hold the same files (same seed): same host names, same episode ids,
      // and still two receivers' worth of everything.
      { name: 'rack-a', seed: 1 },
      { name: 'rack-b', seed: 1 },
      { name: 'rack-c', seed: 7 },
    ];
    const roots = await Promise.all(
      receivers.map(async ({ name, seed }) => {
        const root = path.join(tempDir('cis490-e2e-'), name);
        const gen = await runCli([
          'generate',
          '--out',
          root,
          '--hosts',
          '3',
          '--episodes',
          '6',
          '--index-lines',
          '400',
          '--alerts',
          '30',
          '--telemetry-kb',
          '1',
          '--seed',
          String(seed),
        ]);
        expect(gen.code, gen.stderr).toBe(0);
        return root;
      }),
    );
    const files = await Promise.all(
      roots.map(async (root) => {
        const r = await runCli(['snapshot', '--data-root', root]);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as Snapshot;
      }),
    );
    const expected = {
      total_episodes: files.reduce((n, s) => n + s.total_episodes, 0),
      total_alerts: files.reduce((n, s) => n + s.total_alerts, 0),
      total_bytes: files.reduce((n, s) => n + s.total_bytes, 0),
    };
    expect(expected.total_episodes).toBeGreaterThan(0);

    // One replica before the agents, one after some of it is in.
    const dirs = [tempDir('cis490-replica-'), tempDir('cis490-replica-')];
    const first = await startReplicaProcess(redis.url, [], dirs[0]);
    const agents = [];
    for (const [i, r] of receivers.entries())
      agents.push(await startAgentProcess(redis.url, roots[i] as string, r.name));
    const second = await startReplicaProcess(redis.url, [], dirs[1]);
    const viewers = await Promise.all(
      [first, second].map((p) => TestClient.connect(`${p.url.replace('http', 'ws')}/ws`)),
    );
    const sums = (s: Snapshot) =>
      s.total_episodes === expected.total_episodes &&
      s.total_alerts === expected.total_alerts &&
      s.total_bytes === expected.total_bytes;
    await Promise.all(viewers.map((v) => stateReaches(v, (_seq, s) => sums(s))));

    // Stop the agents: the stream stops moving; both replicas apply it to its end.
    for (const a of agents) {
      a.child.kill('SIGTERM');
      await a.exited;
    }
    const log = await openLog(redis.url);
    const head = await log.lastSeq();
    await Promise.all(viewers.map((v) => stateReaches(v, (seq) => seq >= head)));
    for (const v of viewers) {
      const state = v.foldState();
      expect(sums(state)).toBe(true);
      // Same host names on three receivers are nine hosts.
      const hosts = Object.keys(state.hosts_indexed);
      for (const r of receivers) expect(hosts.filter((h) => h.startsWith(`${r.name}/`)).length).toBe(3);
    }
    for (const p of [first, second]) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    const catalogs = dirs.map((d) => new ReplicaCatalog(d));
    try {
      const [a, b] = catalogs as [ReplicaCatalog, ReplicaCatalog];
      expect(a.position()).toEqual({ epoch: log.epoch, seq: head });
      expect(b.position()).toEqual(a.position());
      const dumpA = a.dump();
      expect(dumpA).toEqual(b.dump());
      expect(dumpA.episodes).toHaveLength(expected.total_episodes);
      expect(dumpA.alerts).toBe(expected.total_alerts);
    } finally {
      for (const c of catalogs) c.close();
    }
    // Eleven processes on a shared box: no speed is asserted here, only the outcome.
  }, 300_000);
});
