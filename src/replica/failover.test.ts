/**
 * Done-when 1 of issue 13 with real processes: a viewer (a real ws client) on a replica that is
 * SIGKILLed mid-stream resumes on another replica with `?since=&epoch=` and has received every seq
 * exactly once, each payload equal to what was appended. Needs `npm run build:server`.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { BIN, expectUsageError, runCli } from '../../test/support/cli.js';
import { freePort, redisServer } from '../../test/support/redis-server.js';
import { receiverAlert, receiverEpisode } from '../../test/support/replica-harness.js';
import { startReplicaProcess } from '../../test/support/replica-process.js';
import { openLog } from '../../test/support/stream-harness.js';
import { tempDir } from '../../test/support/tmp.js';
import { TestClient } from '../../test/support/ws-harness.js';
import type { DashboardEvent, ServerMessage, UnsequencedEvent } from '../protocol/index.js';
import type { RedisStreamLog } from '../scaleout/redis-stream-log.js';

/** Appends a batch of receiver `r`'s events; records what each seq was given. */
async function append(
  log: RedisStreamLog,
  r: string,
  events: UnsequencedEvent[],
  sent: Map<number, { receiver: string; event: UnsequencedEvent }>,
): Promise<number> {
  const result = await log.append({ receiver: r, events });
  if (result.status !== 'appended') throw new Error(`append ${result.status}`);
  for (const [i, event] of events.entries()) sent.set(result.firstSeq + i, { receiver: r, event });
  return result.lastSeq;
}

/** Resolves once the client has received a message with `seq >= target`. */
function received(client: TestClient, target: number): Promise<void> {
  const reached = () => client.messages.some((m) => m.type !== 'heartbeat' && m.seq >= target);
  if (reached()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (reached()) {
        client.ws.off('message', check);
        resolve();
      }
    };
    client.ws.on('message', check);
  });
}

const events = (messages: readonly ServerMessage[]) =>
  messages.filter((m): m is DashboardEvent => m.type !== 'hello' && m.type !== 'heartbeat');

describe('replica failover (real processes)', () => {
  test('(1) a replica SIGKILLed mid-stream: its viewer resumes on another and gets every seq exactly once, payloads as appended', async () => {
    const redis = await redisServer();
    const log = await openLog(redis.url);
    const sent = new Map<number, { receiver: string; event: UnsequencedEvent }>();
    const receivers = ['rack-a', 'rack-b'];
    let n = 0;
    const round = async (count: number) => {
      let last = 0;
      for (let k = 0; k < count; k++) {
        for (const r of receivers) {
          n += 1;
          last = await append(
            log,
            r,
            [receiverEpisode(r, n), ...(n % 7 === 0 ? [receiverAlert(r, n)] : [])],
            sent,
          );
        }
      }
      return last;
    };
    await round(20);
    // The smallest ring (100 events): the viewer's gap below will be past it on the second replica.
    const [a, b] = await Promise.all([
      startReplicaProcess(redis.url, ['--replay-buffer', '100']),
      startReplicaProcess(redis.url, ['--replay-buffer', '100']),
    ]);
    const viewer = await TestClient.connect(`${a.url.replace('http', 'ws')}/ws`);
    const hello = await new Promise<ServerMessage>((resolve) => {
      if (viewer.messages[0]) resolve(viewer.messages[0]);
      else viewer.ws.once('message', (data) => resolve(JSON.parse(String(data)) as ServerMessage));
    });
    expect(hello.type).toBe('hello');
    const start = hello.seq;
    const epoch = (hello as { epoch: string }).epoch;
    expect(epoch).toBe(log.epoch);

    // Mid-stream: events flowing to the viewer, then its replica dies.
    const midway = await round(40);
    await received(viewer, midway - 10);
    await a.kill();
    await viewer.closed;
    // More than the second replica's ring holds happen while the viewer is away.
    await round(150);
    const since = viewer.lastSeq ?? start;
    const resumed = await TestClient.connect(
      `${b.url.replace('http', 'ws')}/ws?since=${since}&epoch=${epoch}`,
    );
    const last = await round(30);
    await received(resumed, last);

    // No reset: the second replica answered with the missed events, read from the stream.
    expect(resumed.messages.some((m) => m.type === 'hello')).toBe(false);
    const all = [...events(viewer.messages), ...events(resumed.messages)];
    const seqs = all.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: last - start }, (_, i) => start + 1 + i));
    for (const event of all) {
      const appended = sent.get(event.seq);
      expect(appended).toBeDefined();
      expect(event).toEqual({ ...appended?.event, seq: event.seq, receiver: appended?.receiver });
    }
  }, 120_000);

  test('serve --redis with a bad URL or namespace: one line, exit 2', async () => {
    expectUsageError(await runCli(['serve', '--redis', 'localhost:6379']), /redis/);
    expectUsageError(
      await runCli(['serve', '--redis', 'redis://127.0.0.1:1', '--namespace', 'a b']),
      /namespace/i,
    );
    // A port or a database the client would have thrown a stack trace on, for serve and agent alike.
    for (const cmd of [['serve'], ['agent', '--receiver', 'rack-a', '--data-root', '.']]) {
      expectUsageError(await runCli([...cmd, '--redis', 'redis://127.0.0.1:99999']), /--redis .*valid/);
      expectUsageError(await runCli([...cmd, '--redis', 'redis://127.0.0.1:6379/abc']), /database number/);
    }
  }, 120_000);

  test('a Redis that refuses the password: one line, exit 2, the password never printed; a signal while waiting for Redis stops the replica', async () => {
    const redis = await redisServer({ config: { requirepass: 'right-password' } });
    const port = new URL(redis.url).port;
    const stateDir = tempDir('cis490-replica-');
    for (const url of [`redis://127.0.0.1:${port}`, `redis://:s3cret-wrong@127.0.0.1:${port}`]) {
      const r = await runCli(['serve', '--redis', url, '--port', '0', '--state-dir', stateDir], {
        CIS490_LOG_LEVEL: 'info',
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/Redis refused the connection/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout + r.stderr).not.toContain('s3cret-wrong');
    }

    // Nothing listens on this port: the replica waits for Redis; SIGTERM ends the wait, exit 0.
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--redis',
        `redis://127.0.0.1:${await freePort()}`,
        '--port',
        '0',
        '--state-dir',
        stateDir,
      ],
      {
        env: { ...process.env, CIS490_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        if (String(c).includes('redis connection lost')) resolve();
      }),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopped before the shared log answered/);
  }, 120_000);

  test('an agent started while Redis does not answer says so in /readyz (503 redis_unavailable), not just "starting"', async () => {
    const root = tempDir('cis490-agent-root-');
    fs.writeFileSync(path.join(root, 'index.jsonl'), '');
    const agent = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--data-root',
        root,
        '--receiver',
        'rack-a',
        '--listen',
        '127.0.0.1:0',
        '--state-dir',
        tempDir('cis490-agent-'),
        '--redis',
        `redis://127.0.0.1:${await freePort()}`,
      ],
      { env: { ...process.env, CIS490_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    // Ended here too when an assertion fails first (left running, it held its port and Redis tries).
    onTestFinished(() => {
      if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    });
    const url = await new Promise<string>((resolve) => {
      let err = '';
      agent.stderr.on('data', (c) => {
        err += c;
        const m = / serving (http:\/\/\S+),/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
    });
    await vi.waitFor(
      async () => {
        const r = await fetch(`${url}/readyz`);
        expect(r.status).toBe(503);
        expect(((await r.json()) as { reason: { code: string } }).reason.code).toBe('redis_unavailable');
      },
      { timeout: 20_000, interval: 100 },
    );
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
