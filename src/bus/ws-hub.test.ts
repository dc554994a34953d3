import http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { alert, episode, eventSeqs, range, startHub, TestClient } from '../../test/support/ws-harness.js';
import {
  type AgentStatus,
  CLOSE_GOING_AWAY,
  CLOSE_UNAUTHORIZED,
  type HelloMessage,
} from '../protocol/index.js';
import { createLogger, silentLogger } from '../util/log.js';
import { Bus } from './bus.js';

describe('WsHub: connecting', () => {
  it('sends a hello with the current state, then every later event', async () => {
    const { bus, url } = await startHub();
    bus.publish(episode());
    bus.publish(alert());
    const client = await TestClient.connect(url);
    await vi.waitFor(() => expect(client.messages).toHaveLength(1));
    const hello = client.messages[0] as HelloMessage;
    expect(hello).toEqual({ type: 'hello', epoch: bus.epoch, seq: 2, state: bus.state });
    bus.publish(episode());
    bus.publish({ type: 'ready', ready: true });
    await vi.waitFor(() => expect(client.lastSeq).toBe(4));
    expect(eventSeqs(client.messages)).toEqual([3, 4]);
    expect(client.foldState()).toEqual(bus.state);
  });

  it("tells a replica's viewers its receivers' agents right after the hello and on every heartbeat", async () => {
    let agents: Record<string, AgentStatus> = {
      'rack-1': { up: true, since: null, last_heartbeat: '2026-05-08T12:00:00.000Z' },
    };
    const { bus, url } = await startHub({ heartbeatIntervalMs: 50, agents: () => agents });
    bus.publish(episode());
    const client = await TestClient.connect(url);
    await vi.waitFor(() => expect(client.messages.length).toBeGreaterThanOrEqual(2));
    expect(client.messages[0]?.type).toBe('hello');
    expect(client.messages[1]).toMatchObject({ type: 'heartbeat', seq: 1, agents });
    agents = {
      'rack-1': { up: false, since: '2026-05-08T12:00:20.000Z', last_heartbeat: '2026-05-08T12:00:00.000Z' },
    };
    await vi.waitFor(() =>
      expect(client.messages.at(-1)).toMatchObject({
        type: 'heartbeat',
        agents: { 'rack-1': { up: false } },
      }),
    );
    // A single box's heartbeats carry none.
    const single = await startHub({ heartbeatIntervalMs: 50 });
    const other = await TestClient.connect(single.url);
    await vi.waitFor(() => expect(other.messages.some((m) => m.type === 'heartbeat')).toBe(true));
    expect(other.messages.filter((m) => m.type === 'heartbeat').every((m) => !('agents' in m))).toBe(true);
  });

  it('refuses another path with 404 and a foreign origin with 403', async () => {
    const { url } = await startHub({ checkOrigin: (origin) => origin === 'http://dash.lab' });
    await expect(TestClient.connect(url.replace('/ws', '/other'))).rejects.toThrow('404');
    await expect(TestClient.connect(url, { origin: 'http://evil.example' })).rejects.toThrow('403');
    const ok = await TestClient.connect(url, { origin: 'http://dash.lab' });
    await vi.waitFor(() => expect(ok.messages[0]?.type).toBe('hello'));
  });

  it('closes an unauthorized client with 4001 before sending it anything', async () => {
    const { bus, hub, url } = await startHub({
      authorize: (req) => req.headers.authorization === 'Bearer sesame',
    });
    bus.publish(episode());
    const intruder = new TestClient(url);
    expect(await intruder.closed).toEqual({ code: CLOSE_UNAUTHORIZED, reason: 'unauthorized' });
    expect(intruder.messages).toEqual([]);
    const friend = await TestClient.connect(url, { headers: { authorization: 'Bearer sesame' } });
    await vi.waitFor(() => expect(friend.messages[0]?.type).toBe('hello'));
    expect(hub.stats()).toMatchObject({ clients: 1, unauthorized_total: 1 });
  });
});

describe('WsHub: resuming with ?since=&epoch=', () => {
  async function hubWith(events: number, capacity = 1000) {
    const fixture = await startHub({ bus: new Bus({ logger: silentLogger(), capacity }) });
    for (let i = 0; i < events; i++) fixture.bus.publish(episode());
    return fixture;
  }

  it('replays the missed events without a hello, then continues live', async () => {
    const { bus, hub, url } = await hubWith(10);
    const client = await TestClient.connect(`${url}?since=6&epoch=${bus.epoch}`);
    await vi.waitFor(() => expect(client.lastSeq).toBe(10));
    bus.publish(alert());
    await vi.waitFor(() => expect(client.lastSeq).toBe(11));
    expect(client.messages.map((m) => m.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(client.messages.some((m) => m.type === 'hello')).toBe(false);
    expect(hub.stats()).toMatchObject({ resumes_total: 1, resets_total: 0 });
  });

  it('sends nothing until the next event when the client is up to date', async () => {
    const { bus, url } = await hubWith(3);
    const client = await TestClient.connect(`${url}?since=3&epoch=${bus.epoch}`);
    bus.publish(alert());
    await vi.waitFor(() => expect(client.lastSeq).toBe(4));
    expect(client.messages.map((m) => m.seq)).toEqual([4]);
  });

  it.each([
    ['another epoch', (epoch: string) => `since=5&epoch=x${epoch}`],
    ['no epoch', () => 'since=5'],
    ['a since beyond our seq', (epoch: string) => `since=99&epoch=${epoch}`],
    ['a malformed since', (epoch: string) => `since=5abc&epoch=${epoch}`],
    ['a negative since', (epoch: string) => `since=-1&epoch=${epoch}`],
    ['an empty since', (epoch: string) => `since=&epoch=${epoch}`],
  ])('answers %s with a fresh hello marked reset', async (_name, query) => {
    const { bus, hub, url } = await hubWith(10);
    const client = await TestClient.connect(`${url}?${query(bus.epoch)}`);
    await vi.waitFor(() => expect(client.messages).toHaveLength(1));
    expect(client.messages[0]).toEqual({
      type: 'hello',
      epoch: bus.epoch,
      seq: 10,
      state: bus.state,
      reset: true,
    });
    expect(hub.stats()).toMatchObject({ resumes_total: 0, resets_total: 1 });
  });

  it('answers with a reset hello when the missed events have aged out of the log', async () => {
    const { bus, url } = await hubWith(20, 5);
    const client = await TestClient.connect(`${url}?since=10&epoch=${bus.epoch}`);
    await vi.waitFor(() => expect(client.messages).toHaveLength(1));
    expect(client.messages[0]).toMatchObject({ type: 'hello', seq: 20, reset: true });
  });

  it('answers with a reset hello when the replay would not fit in the queue cap', async () => {
    const { bus, url } = await startHub({ queueCapBytes: 4096 });
    for (let i = 0; i < 10; i++) bus.publish(alert(1000));
    const client = await TestClient.connect(`${url}?since=1&epoch=${bus.epoch}`);
    await vi.waitFor(() => expect(client.messages).toHaveLength(1));
    expect(client.messages[0]).toMatchObject({ type: 'hello', seq: 10, reset: true });
  });
});

describe('WsHub: fan-out', () => {
  it('serialises each event once however many clients listen (the log weighs that same JSON)', async () => {
    const { bus, url } = await startHub();
    const stringify = vi.spyOn(JSON, 'stringify');
    bus.publish(episode());
    expect(stringify).toHaveBeenCalledTimes(1);

    const clients = await Promise.all(range(1, 8).map(() => TestClient.connect(url)));
    await vi.waitFor(() => expect(clients.every((c) => c.messages.length === 1)).toBe(true));
    stringify.mockClear();
    bus.publish(episode());
    expect(stringify).toHaveBeenCalledTimes(1);
    stringify.mockRestore();
    await vi.waitFor(() => expect(clients.every((c) => c.lastSeq === 2)).toBe(true));
  });

  it('serialises one hello for a burst of connections at the same seq', async () => {
    const { bus, url } = await startHub();
    bus.publish(episode());
    const stringify = vi.spyOn(JSON, 'stringify');
    const clients = await Promise.all(range(1, 5).map(() => TestClient.connect(url)));
    await vi.waitFor(() => expect(clients.every((c) => c.messages.length === 1)).toBe(true));
    expect(stringify).toHaveBeenCalledTimes(1);
    stringify.mockRestore();
  });
});

describe('WsHub: close', () => {
  it('sends 1001 to every client, resolves once all are closed, and refuses new upgrades', async () => {
    const { hub, url } = await startHub();
    const clients = await Promise.all(range(1, 3).map(() => TestClient.connect(url)));
    await hub.close();
    for (const client of clients) expect(await client.closed).toMatchObject({ code: CLOSE_GOING_AWAY });
    expect(hub.clientCount).toBe(0);
    await expect(TestClient.connect(url)).rejects.toThrow('503');
  });

  it('terminates peers that do not answer the close frame', async () => {
    const { hub, url } = await startHub({ closeTimeoutMs: 200 });
    const paused = await TestClient.connect(url);
    await vi.waitFor(() => expect(paused.messages).toHaveLength(1));
    paused.ws.pause();
    await hub.close();
    paused.ws.resume();
    // The close frame may or may not have reached it before the cut; either way it is gone.
    await paused.closed;
  });
});

describe('WsHub: upgrade errors', () => {
  it('refuses an unparseable request URL without throwing', async () => {
    const { hub } = await startHub();
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      req.url = 'http://[';
      expect(() => hub.handleUpgrade(req, socket, head)).not.toThrow();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await expect(TestClient.connect(`ws://127.0.0.1:${port}/ws`)).rejects.toThrow();
    server.closeAllConnections();
    server.close();
  });
});

describe('WsHub: misbehaving peers and hooks', () => {
  function collectingLogger() {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    return { lines, logger };
  }

  it('closes a client that sends more than maxPayload with 1009 and logs it', async () => {
    const { lines, logger } = collectingLogger();
    const { hub, url } = await startHub({ logger, maxPayload: 64 });
    const client = await TestClient.connect(url);
    client.ws.send('x'.repeat(1000));
    expect((await client.closed).code).toBe(1009);
    await vi.waitFor(() => expect(hub.clientCount).toBe(0));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        remote: '127.0.0.1',
        msg: expect.stringContaining('ws client error'),
      }),
    );
  });

  it('survives an authorize hook that throws: that client is dropped, the next one is served', async () => {
    const { lines, logger } = collectingLogger();
    let calls = 0;
    const { url } = await startHub({
      logger,
      authorize: () => {
        calls += 1;
        if (calls === 1) throw new Error('token store down');
        return true;
      },
    });
    const first = new TestClient(url);
    expect((await first.closed).code).toBe(1006);
    const second = await TestClient.connect(url);
    await vi.waitFor(() => expect(second.messages[0]?.type).toBe('hello'));
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringContaining('token store down') }),
    );
  });
});
