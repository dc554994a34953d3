/**
 * Test helpers for the scale-out agent (test-only): a real `agent` process of the built CLI, a
 * receiver's files written line by line, the whole stream read back, and a TCP proxy that can cut
 * a client off from Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { onTestFailed, onTestFinished, vi } from 'vitest';
import type { StreamRecord } from '../../src/scaleout/records.js';
import type { RedisStreamLog } from '../../src/scaleout/redis-stream-log.js';
import { BIN } from './cli.js';
import { tempDir } from './tmp.js';

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Everything it printed (logs are JSON lines on stdout). */
  output(): string;
  /** Resolves with the exit code and signal once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once it logged `text` (e.g. 'agent ready'). */
  waitForLog(text: string): Promise<void>;
}

/** Spawns `cis490-dashboard agent` (killed when the test finishes). */
export function spawnAgent(
  o: { dataRoot: string; redisUrl: string; receiver: string; args?: string[] },
  env: NodeJS.ProcessEnv = {},
): AgentProcess {
  const args = [
    BIN,
    'agent',
    '--data-root',
    o.dataRoot,
    '--redis',
    o.redisUrl,
    '--receiver',
    o.receiver,
    '--listen',
    '127.0.0.1:0',
    '--poll-interval',
    '0.05',
    '--log-level',
    'info',
    // Its row store in a temp dir of the test, never the user's state dir.
    ...(o.args?.includes('--state-dir') ? [] : ['--state-dir', tempDir('cis490-agent-')]),
    ...(o.args ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  onTestFinished(async () => {
    await kill();
  });
  onTestFailed(() => {
    process.stderr.write(`--- agent ${o.receiver} (pid ${child.pid}) printed:\n${out.slice(-6000)}\n`);
  });
  const waitForLog = (text: string) =>
    vi.waitFor(
      () => {
        if (!out.includes(text)) throw new Error(`agent ${o.receiver} has not logged '${text}' yet`);
      },
      { timeout: 90_000, interval: 50 },
    );
  return { child, output: () => out, exited, kill, waitForLog };
}

/** An index line as the receiver writes it (Python's json.dumps spacing). */
export function indexLine(id: string, host: string): string {
  return `${JSON.stringify({ episode_id: id, host_id: host, sha256: null, size_bytes: 1000, received_at_wall: 1_764_000_000 })}\n`;
}

export function alertLine(n: number, host: string): string {
  return `${JSON.stringify({
    host,
    symptom: 'disk_low',
    detail: `alert ${n}`,
    suggested_fix: 'free space',
    detected_at_wall: 1_764_000_000 + n,
    dedup_key: `k${n % 7}`,
  })}\n`;
}

/**
 * A receiver's lab: writes index and alert lines under a data root and remembers their ids in
 * order (what the stream must hold, each once). Lines carry padding so a few thousand of them
 * make several reader batches.
 */
export class Lab {
  readonly ids: string[] = [];
  readonly alerts: string[] = [];
  readonly root: string;

  constructor(
    root: string,
    readonly prefix: string,
  ) {
    this.root = root;
    fs.mkdirSync(path.join(root, 'episodes'), { recursive: true });
  }

  /** Appends `count` index lines (one write) and returns their ids. */
  writeIndex(count: number): string[] {
    const ids: string[] = [];
    let text = '';
    for (let i = 0; i < count; i++) {
      const id = `${this.prefix}-${String(this.ids.length + i).padStart(7, '0')}-${'x'.repeat(120)}`;
      ids.push(id);
      text += indexLine(id, `host-${(this.ids.length + i) % 5}`);
    }
    fs.appendFileSync(path.join(this.root, 'index.jsonl'), text);
    this.ids.push(...ids);
    return ids;
  }

  writeAlerts(count: number): void {
    let text = '';
    for (let i = 0; i < count; i++) {
      const n = this.alerts.length;
      this.alerts.push(`alert ${n}`);
      text += alertLine(n, `host-${n % 5}`);
    }
    fs.appendFileSync(path.join(this.root, 'alerts.jsonl'), text);
  }

  /** Rename rotation of `index.jsonl` (→ `index.jsonl.1`); the next write starts a new file. */
  rotateIndex(): void {
    fs.renameSync(path.join(this.root, 'index.jsonl'), path.join(this.root, 'index.jsonl.1'));
  }
}

/** Every record of the stream, oldest first (null if part of it is gone). */
export async function readAll(log: RedisStreamLog): Promise<StreamRecord[]> {
  const all: StreamRecord[] = [];
  let from = 1;
  for (;;) {
    const page = await log.read(from, { limit: 10_000 });
    if (page === null) throw new Error(`stream read from ${from} returned null (trimmed or another epoch)`);
    const last = page.at(-1);
    if (!last) return all;
    all.push(...page);
    from = last.event.seq + 1;
  }
}

/** The episode ids a receiver put in the stream, in stream order. */
export function episodeIdsOf(records: readonly StreamRecord[], receiver: string): string[] {
  const ids: string[] = [];
  for (const r of records)
    if (r.receiver === receiver && r.event.type === 'episode') ids.push(r.event.episode_id);
  return ids;
}

export function alertDetailsOf(records: readonly StreamRecord[], receiver: string): string[] {
  const out: string[] = [];
  for (const r of records)
    if (r.receiver === receiver && r.event.type === 'alert') out.push(String(r.event.detail));
  return out;
}

/**
 * A TCP proxy in front of a port that can cut its clients off: `cut()` drops every connection and
 * closes each new one at once until `restore()`.
 */
export class DropProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  port = 0;

  private constructor(targetPort: number) {
    this.#server = net.createServer((client) => {
      if (this.#cut) {
        client.destroy();
        return;
      }
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  static async start(targetPort: number): Promise<DropProxy> {
    const proxy = new DropProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as net.AddressInfo).port;
    onTestFinished(() => proxy.close());
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  restore(): void {
    this.#cut = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Every row of an agent's row export (`GET /api/rows`) up to `upto`, page by page. */
export async function fetchRows(
  url: string,
  epoch: string,
  upto: number,
  limit = 1000,
): Promise<{ complete: boolean; rows: Array<{ seq: number; event: Record<string, unknown> }> }> {
  const rows: Array<{ seq: number; event: Record<string, unknown> }> = [];
  let after = 0;
  let complete = true;
  for (;;) {
    const res = await fetch(`${url}/api/rows?epoch=${epoch}&after=${after}&upto=${upto}&limit=${limit}`);
    if (!res.ok) throw new Error(`GET /api/rows answered ${res.status}: ${await res.text()}`);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const head = lines[0] as { complete: boolean };
    const end = lines.at(-1) as { end: boolean; last_seq: number; more: boolean };
    if (end.end !== true) throw new Error('the row export has no end line');
    complete &&= head.complete;
    rows.push(...(lines.slice(1, -1) as typeof rows));
    if (!end.more) return { complete, rows };
    after = end.last_seq;
  }
}
