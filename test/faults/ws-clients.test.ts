/**
 * Fault case 5: 1,000 WebSocket clients in a child process over loopback while events flow; a
 * tenth never read, a tenth disconnect abruptly. Every reading client gets every event once, the
 * silent ones are closed with 4000 (small client queue), the server's RSS stays bounded.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CLOSE_SLOW_CLIENT } from '../../src/protocol/index.js';
import { tempDir } from '../../src/test-utils/tmp.js';
import { startChildServer } from './child-server.js';
import { indexLine, mib, RSS_BOUND_BYTES, report, SOAK, scale } from './support.js';

const CLIENTS = 1_000;
/** Events written at least (the soak keeps the flow going longer). */
const MIN_EVENTS = scale(1_000, 20_000);
/**
 * Keep events flowing until every silent client was closed with 4000: soak only. A paused
 * loopback socket absorbs a few MiB in kernel buffers before our queue grows, so this takes
 * GiB of traffic at 1,000 clients; and on this 2-core box the kernel's TCP memory pressure then
 * stalls the readers' sockets too (see the report of issue 8) — the bounded run checks delivery,
 * vanishing peers and RSS, the 4000 path itself is covered by src/bus/ws-hub.flow.test.ts.
 */
const OVERFLOW = SOAK;
/** A paused loopback socket absorbs a few MiB (kernel autotuning) before our queue grows. */
const MAX_EVENTS = scale(15_000, 60_000);
const BURST = 20;
/** Events the writer may run ahead of the slowest reader. */
const LAG = 60;
/**
 * Padding per event (~1.2 KB each). Not more: a snapshot carries the 200 most recent episodes, and
 * it must stay well under the queue cap or readers that keep up are (rightly) closed behind it.
 */
const PAD = 'p'.repeat(1_000);
/** Small (the default is 1 MiB), yet several bursts: a reader that keeps up is never closed. */
const QUEUE_BYTES = 512 * 1024;

type SwarmReply = Record<string, unknown>;

function swarm() {
  const child = fork(fileURLToPath(new URL('./ws-swarm.mjs', import.meta.url)), [], {
    stdio: 'inherit',
    // Not vitest's worker flags: the swarm is plain Node.
    execArgv: [],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const replies: SwarmReply[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m) => {
    replies.push(m as SwarmReply);
    wake?.();
  });
  return {
    child,
    send: (m: object) => child.send(m),
    async reply(key: string): Promise<SwarmReply> {
      for (;;) {
        const found = replies.find((r) => key in r);
        if (found) return found;
        if (child.exitCode !== null) throw new Error('swarm exited');
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}

describe('fault: 1,000 WebSocket clients, some never reading, some vanishing', () => {
  it('delivers every event to each reader while a tenth never read and a tenth vanish (4000 closes: soak), RSS bounded', async () => {
    const started = Date.now();
    const tmp = tempDir('cis490-fault-ws-');
    const dataRoot = path.join(tmp, 'root');
    fs.mkdirSync(dataRoot);
    const index = path.join(dataRoot, 'index.jsonl');
    fs.writeFileSync(index, '');
    const server = await startChildServer({
      dataRoot,
      stateDir: path.join(tmp, 'state'),
      extra: ['--client-queue-bytes', String(QUEUE_BYTES)],
    });
    const clients = swarm();
    clients.send({ cmd: 'connect', url: `${server.url.replace(/^http/, 'ws')}/ws`, n: CLIENTS });
    expect((await clients.reply('connected')).connected).toBe(CLIENTS);

    // Events flow in bursts small enough to be pushed one by one (not folded into a snapshot),
    // paced by the readers over IPC, until the server has closed every silent client as slow
    // (a paused loopback socket absorbs a few MiB in kernel buffers first).
    const slowClosed = async () =>
      Number(
        /ws_slow_closed_total (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0,
      );
    let k = 0;
    while (k < MIN_EVENTS || (OVERFLOW && (await slowClosed()) < CLIENTS / 10)) {
      expect(k, 'events written before every silent client was closed').toBeLessThan(MAX_EVENTS);
      for (let b = 0; b < 10; b++) {
        let burst = '';
        for (let i = 0; i < BURST; i++, k++) {
          burst += indexLine(`sw-${k}`, `host-0${k % 4}`).replace(/}\n$/, `,"pad":"${PAD}"}\n`);
        }
        fs.appendFileSync(index, burst);
        clients.send({ cmd: 'progress', n: Math.max(0, k - LAG) });
        const progress = await clients.reply('progress');
        expect(progress.readersClosed, JSON.stringify(progress)).toBe(0);
      }
    }
    const EVENTS = k;
    clients.send({ cmd: 'expect', n: EVENTS });
    const done = await clients.reply('done');
    expect(done.readersComplete, `${JSON.stringify(done)}\n${server.stderr().slice(-3000)}`).toBe(
      done.readers,
    );
    expect(done.duplicates).toBe(0);
    expect(done.readersClosed).toBe(0);
    expect(done.abruptGone).toBe(CLIENTS / 10);

    if (OVERFLOW) {
      clients.send({ cmd: 'release' });
      const released = await clients.reply('released');
      expect(released.closeCodes).toEqual({ [CLOSE_SLOW_CLIENT]: CLIENTS / 10 });
      expect(await slowClosed(), 'only the silent clients were closed as slow').toBe(CLIENTS / 10);
    } else {
      // Bounded run: the silent clients are still held (under the kernel's buffers), the vanished
      // ones are gone, and nobody was closed as slow.
      expect(await slowClosed()).toBe(0);
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    if (!OVERFLOW) expect(/ws_clients (\d+)/.exec(metrics)?.[1]).toBe(String(CLIENTS - CLIENTS / 10));
    const peak = await server.kill();
    clients.send({ cmd: 'exit' });
    report('ws-clients', {
      clients: CLIENTS,
      events: EVENTS,
      queue_bytes: QUEUE_BYTES,
      slow_closed: /ws_slow_closed_total (\d+)/.exec(metrics)?.[1],
      server_peak_rss: mib(peak),
      seconds: (Date.now() - started) / 1000,
    });
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  }, 180_000);
});
