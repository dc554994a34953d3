import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { alert, episode, eventSeqs, range, startHub, TestClient } from '../../test/support/ws-harness.js';
import { CLOSE_SLOW_CLIENT } from '../protocol/index.js';
import { silentLogger } from '../util/log.js';
import { Bus } from './bus.js';
import { SLOW_CLIENT_REASON } from './ws-hub.js';

describe('WsHub under load', () => {
  it('gives every client connecting during a publish burst a gapless, duplicate-free stream', async () => {
    const { bus, url } = await startHub();
    // Publish continuously from a timer while the clients connect.
    const timer = setInterval(() => {
      for (let i = 0; i < 5; i++) bus.publish(i % 2 === 0 ? episode() : alert());
    }, 1);
    const clients: TestClient[] = [];
    for (let i = 0; i < 20; i++) {
      clients.push(new TestClient(url));
      if (i % 4 === 3) await Promise.all(clients.map((c) => c.opened));
    }
    await Promise.all(clients.map((c) => c.opened));
    await vi.waitFor(() => expect(bus.seq).toBeGreaterThan(100));
    clearInterval(timer);
    const finalSeq = bus.seq;
    await vi.waitFor(() => expect(clients.map((c) => c.lastSeq)).toEqual(clients.map(() => finalSeq)));

    const helloSeqs = new Set<number>();
    for (const client of clients) {
      const [hello, ...events] = client.messages;
      expect(hello?.type).toBe('hello');
      if (hello === undefined) continue;
      helloSeqs.add(hello.seq);
      expect(eventSeqs(events)).toEqual(range(hello.seq + 1, finalSeq));
      expect(client.foldState()).toEqual(bus.state);
    }
    // The clients really did join at different points of the burst.
    expect(helloSeqs.size).toBeGreaterThan(1);
  });

  it('closes a client that stops reading with 4000 without holding up the others; it then resumes exactly', async () => {
    const capBytes = 256 * 1024;
    const { bus, hub, url } = await startHub({
      queueCapBytes: capBytes,
      bus: new Bus({ logger: silentLogger(), capacity: 100_000 }),
    });
    const fast = await TestClient.connect(url);
    const slow = await TestClient.connect(url);
    await vi.waitFor(() => expect(slow.messages).toHaveLength(1));
    slow.ws.pause();

    // Publish 16 KiB events, yielding between batches so sockets flush, until the stalled
    // client's queue (socket buffers full, then ours) passes the cap.
    let published = 0;
    while (hub.stats().slow_closed_total === 0) {
      for (let i = 0; i < 8; i++) bus.publish(alert(16 * 1024));
      published += 8;
      if (published > 20_000) throw new Error('slow client was never closed');
      await nextTurn();
    }
    expect(hub.clientCount).toBe(1);
    for (let i = 0; i < 5; i++) bus.publish(episode());
    const finalSeq = bus.seq;

    // The fast client got everything while the slow one was stalled.
    await vi.waitFor(() => expect(fast.lastSeq).toBe(finalSeq));
    expect(eventSeqs(fast.messages)).toEqual(range(1, finalSeq));

    // The slow client drains what was queued before its close, then sees 4000.
    slow.ws.resume();
    expect(await slow.closed).toEqual({ code: CLOSE_SLOW_CLIENT, reason: SLOW_CLIENT_REASON });
    const lastSeen = slow.lastSeq ?? 0;
    expect(lastSeen).toBeLessThan(finalSeq);
    expect(eventSeqs(slow.messages)).toEqual(range(1, lastSeen));

    // Resuming with its cursor yields exactly the missed events, and the live stream after them.
    const again = await TestClient.connect(`${url}?since=${lastSeen}&epoch=${bus.epoch}`);
    await vi.waitFor(() => expect(again.lastSeq).toBe(finalSeq));
    bus.publish(episode());
    await vi.waitFor(() => expect(again.lastSeq).toBe(finalSeq + 1));
    expect(again.messages.map((m) => m.seq)).toEqual(range(lastSeen + 1, finalSeq + 1));
    expect(hub.stats()).toMatchObject({ slow_closed_total: 1, resumes_total: 1 });
  });

  it('terminates a peer that stops answering pings and keeps one that answers', async () => {
    const { hub, url } = await startHub({ pingIntervalMs: 50, deadPeerGraceMs: 300 });
    const alive = await TestClient.connect(url);
    const dead = await TestClient.connect(url, { autoPong: false });
    const closed = await dead.closed;
    expect(closed.code).toBe(1006);
    expect(hub.stats()).toMatchObject({ dead_dropped_total: 1, clients: 1 });
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
  });
});
