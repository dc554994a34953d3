/**
 * Shared pieces of the fault-injection suite: the scale knob (bounded for `npm test`, larger under
 * `npm run test:soak`), index lines, a WebSocket recorder that counts ids, and RSS peaks.
 */
import fs from 'node:fs';
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol/index.js';

/** `npm run test:soak` sets CIS490_SOAK=1: every case scales its numbers up by this factor. */
export const SOAK = process.env.CIS490_SOAK === '1';
export const scale = (bounded: number, soak: number): number => (SOAK ? soak : bounded);

/** A generous bound on any process's peak RSS in this suite (the issue asks for "bounded"). */
export const RSS_BOUND_BYTES = 400 * 1024 * 1024;

/** The server's counter `name` (with `labels`, e.g. `source="index"`) from /metrics; 0 when absent. */
export async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`cis490_dashboard_${name}${labels ? `{${labels}}` : ' '}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** A valid index.jsonl line (with '\n') for episode `id` on `host`. */
export function indexLine(id: string, host = 'host-01', size = 1000): string {
  return `${JSON.stringify({
    episode_id: id,
    host_id: host,
    sha256: '0'.repeat(64),
    size_bytes: size,
    received_at_wall: '2026-11-01T12:00:00Z',
  })}\n`;
}

/** Peak resident set size (VmHWM) of a process, in bytes; null when /proc has no such entry. */
export function peakRss(pid: number | 'self' = 'self'): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m?.[1] ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export const mib = (bytes: number | null): string =>
  bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Prints one line of figures the report quotes (RSS peaks, counts); visible in the vitest output. */
export function report(what: string, figures: Record<string, unknown>): void {
  process.stdout.write(`[faults] ${what} ${JSON.stringify(figures)}\n`);
}

/**
 * A WebSocket client that counts how often each episode id arrives as an `episode` event, and
 * lets a test wait (on message arrival, never on a clock) until a condition holds.
 */
export class IdRecorder {
  readonly ws: WebSocket;
  readonly seen = new Map<string, number>();
  hello: Extract<ServerMessage, { type: 'hello' }> | null = null;
  lastSeq = 0;
  closeCode: number | null = null;
  private waiters = new Set<() => void>();

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as ServerMessage;
      if (m.type === 'hello') this.hello = m;
      else if (m.type === 'episode') this.seen.set(m.episode_id, (this.seen.get(m.episode_id) ?? 0) + 1);
      this.lastSeq = m.seq;
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    this.ws.on('error', () => this.wake());
  }

  static to(server: { url: string }, query = ''): IdRecorder {
    return new IdRecorder(`${server.url.replace(/^http/, 'ws')}/ws${query}`);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `ok()` holds; rejects when the socket closes first (the test timeout bounds it). */
  until(ok: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (ok()) {
          this.waiters.delete(check);
          resolve();
        } else if (this.closeCode !== null) {
          this.waiters.delete(check);
          reject(new Error(`socket closed (${this.closeCode}) before ${what}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  opened(): Promise<void> {
    return this.until(() => this.hello !== null, 'hello');
  }

  /** Ids seen more than once. */
  repeated(): string[] {
    return [...this.seen].filter(([, n]) => n > 1).map(([id]) => id);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Splits `text` at up to `parts - 1` random points (a writer flushing mid-line). */
export function fragments(text: string, parts: number, rnd: () => number): string[] {
  const cuts = Array.from({ length: parts - 1 }, () => Math.floor(rnd() * text.length)).sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const c of cuts) {
    if (c > at) out.push(text.slice(at, c));
    at = Math.max(at, c);
  }
  out.push(text.slice(at));
  return out;
}

/** A small deterministic PRNG (mulberry32) so a failing run can be repeated. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
