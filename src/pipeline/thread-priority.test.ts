import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import { silentLogger } from '../util/log.js';
import { createPipeline } from './pipeline.js';
import { setThreadsNice, threadsStartedBy } from './thread-priority.js';

const linux = fs.existsSync('/proc/self/task');
const privileged = process.getuid?.() === 0;

/** Nice value of each thread of this process, by thread id (Linux). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command (which may hold spaces): state is field 3, nice field 19.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

describe.runIf(linux)('thread priority', () => {
  it('finds the thread a new worker runs on and sets its nice value alone', async () => {
    let worker: Worker | null = null;
    const tids = threadsStartedBy(() => {
      worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    });
    try {
      expect(tids).toHaveLength(1);
      const [tid] = tids as [number];
      expect(setThreadsNice(tids, 7)).toBe(true);
      const nice = niceByThread();
      expect(nice.get(tid)).toBe(7);
      expect(nice.get(process.pid)).toBe(0);
      if (privileged) {
        expect(setThreadsNice(tids, 0)).toBe(true);
        expect(niceByThread().get(tid)).toBe(0);
      }
    } finally {
      await (worker as Worker | null)?.terminate();
    }
  });

  it('a cold start runs the catalog writer at a lower priority until ready', async () => {
    const dir = tempDir('cis490-priority-');
    const root = path.join(dir, 'root');
    await generateDataRoot({ out: root, hosts: 2, episodes: 4, alerts: 2, telemetryKb: 4, seed: 5 });
    const pipeline = createPipeline({
      dataRoot: root,
      stateDir: path.join(dir, 'state'),
      logger: silentLogger(),
      pollInterval: 0.05,
      rescanInterval: 3600,
      snapshotInterval: 3600,
      replayBuffer: 1000,
    });
    const before = new Set(niceByThread().keys());
    await pipeline.start();
    try {
      // Readiness waits for folder scans (I/O), so the pass is not over when `start` returns.
      expect(pipeline.stats().ready).toBe(false);
      const lowered = [...niceByThread()].filter(([tid, nice]) => !before.has(tid) && nice === 10);
      expect(lowered).toHaveLength(1);
      await pipeline.whenReady();
      const [[writer]] = lowered as [[number, number]];
      // Raising it again takes the privilege to (else the writer is renewed after the cold load).
      if (privileged) await vi.waitFor(() => expect(niceByThread().get(writer)).toBe(0));
    } finally {
      await pipeline.stop();
    }
  });
});
