import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { logLineOf, startServeOnGeneratedRoot } from '../../test/support/replica-process.js';
import { explicitV8PoolSize, firstSharedWaiters, V8_WORKER_NICE } from './v8-workers.js';

/** Each thread's nice value, by thread id, from /proc (field 19 of stat, after the name's parenthesis). */
function niceByThread(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

describe('firstSharedWaiters', () => {
  it("picks the first threads that wait on one word: V8's workers, not the delayed-task thread or libuv's pool", () => {
    // As /proc showed a Node 20 process at its first module: the delayed-task thread in epoll,
    // four V8 workers on their queue's futex, the signal thread, libuv's pool on its own futex.
    const threads = [
      { tid: 822, wait: '281 0x9' },
      { tid: 826, wait: '202 0x30bdcb30' },
      { tid: 823, wait: '202 0x30bdcb30' },
      { tid: 824, wait: null }, // a worker running at that moment is left as it is
      { tid: 825, wait: '202 0x30bdcb30' },
      { tid: 827, wait: '202 0x5660460' },
      { tid: 828, wait: '202 0x566f9cc' },
      { tid: 829, wait: '202 0x566f9cc' },
    ];
    expect(firstSharedWaiters(threads)).toEqual([823, 825, 826]);
    expect(firstSharedWaiters(threads.filter((t) => t.tid >= 827))).toEqual([828, 829]);
    expect(firstSharedWaiters([{ tid: 5, wait: '281 0x9' }])).toEqual([]);
  });
});

describe('explicitV8PoolSize', () => {
  it("reads --v8-pool-size from Node's flags and NODE_OPTIONS, the flags last", () => {
    expect(explicitV8PoolSize([], undefined)).toBeNull();
    expect(explicitV8PoolSize(['--max-old-space-size=512'], '--enable-source-maps')).toBeNull();
    expect(explicitV8PoolSize(['--v8-pool-size=1'], undefined)).toBe(1);
    expect(explicitV8PoolSize([], '--v8-pool-size 0')).toBe(0);
    expect(explicitV8PoolSize(['--v8-pool-size', '8'], '--v8-pool-size=1')).toBe(8);
  });
});

describe.runIf(fs.existsSync('/proc/self/task'))("V8's worker threads", () => {
  it('serve puts them behind the main thread once caught up, and no other thread', async () => {
    const { serve } = await startServeOnGeneratedRoot({
      hosts: 2,
      episodes: 6,
      indexLines: 300,
      alerts: 10,
      telemetryKb: 4,
      seed: 7,
    });
    const pid = serve.child.pid as number;
    // Waits for the server's own word that it lowered them (its log line), then reads /proc.
    const lowered = await logLineOf<{ threads: number; nice: number }>(serve, 'V8 worker threads lowered');
    expect(lowered.nice).toBe(V8_WORKER_NICE);
    // The catalog writer lowers itself to nice 10 once its thread runs, which may be a moment
    // after this line (a writer started anew at catch-up): read /proc once it has.
    const nice = await vi.waitFor(
      () => {
        const now = niceByThread(pid);
        if (![...now.values()].includes(10)) throw new Error('the catalog writer is not at nice 10 yet');
        return now;
      },
      { timeout: 10_000, interval: 20 },
    );
    // The event loop keeps the process's priority.
    expect(nice.get(pid)).toBe(0);
    const low = [...nice].filter(([, n]) => n === V8_WORKER_NICE).map(([tid]) => tid);
    // V8's four platform workers (Node's default pool), each one the log counted.
    expect(lowered.threads).toBe(4);
    expect(low.length).toBe(4);
    // Four threads in a row, made together at the process's start (thread ids grow).
    expect(Math.max(...low) - Math.min(...low)).toBe(3);
    // No other thread is among them: libuv's pool, whose results the main thread waits for, keeps
    // the process's 0; the catalog writer its nice 10; the verifier (started then) 0.
    expect([...nice.values()]).toContain(10);
    const others = [...nice].filter(([tid, n]) => tid !== pid && n !== V8_WORKER_NICE);
    expect(others.filter(([, n]) => n === 0).length).toBeGreaterThanOrEqual(5);
    // Every one the server lowered predates its worker threads (thread ids grow).
    const writer = [...nice].find(([, n]) => n === 10)?.[0] as number;
    expect(Math.max(...low)).toBeLessThan(writer);
  });
});
