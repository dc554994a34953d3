import { describe, expect, it, vi } from 'vitest';
import { alert, startHub, TestClient } from '../../test/support/ws-harness.js';

describe('WsHub with a message bigger than the client queue cap', () => {
  it('keeps a client that reads everything open instead of closing it as slow', async () => {
    const { bus, hub, url } = await startHub({ queueCapBytes: 64 * 1024 });
    const reader = await TestClient.connect(url);
    // 8 MiB in one event: more than loopback socket buffers take at once, so most of it sits in
    // the server's queue right after the send even though the client is reading.
    const big = bus.publish(alert(8 * 1024 * 1024));
    await vi.waitFor(() => expect(reader.lastSeq).toBe(big.seq), { timeout: 10_000 });
    const small = bus.publish(alert());
    await vi.waitFor(() => expect(reader.lastSeq).toBe(small.seq), { timeout: 10_000 });
    expect(hub.stats().slow_closed_total).toBe(0);
    expect(hub.clientCount).toBe(1);
  });
});
