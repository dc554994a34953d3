import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN } from '../../test/support/cli.js';
import { tempDir } from '../../test/support/tmp.js';
import { generateDataRoot } from '../generate/generate.js';
import { RUNTIME_HELPER_NICE } from './runtime-threads.js';

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

describe.runIf(fs.existsSync('/proc/self/task'))('runtime helper threads', () => {
  it('serve puts Node and V8 helper threads behind the main thread once caught up, and nothing else', async () => {
    const tmp = tempDir();
    const root = path.join(tmp, 'root');
    await generateDataRoot({
      out: root,
      hosts: 2,
      episodes: 6,
      indexLines: 300,
      alerts: 10,
      telemetryKb: 4,
      seed: 7,
    });
    const child: ChildProcess = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--data-root',
        root,
        '--state-dir',
        path.join(tmp, 'state'),
        '--port',
        '0',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const pid = child.pid as number;
    // Waits for the server's own word that it lowered them (a log line), then reads /proc.
    const lowered = await new Promise<{ threads: number; nice: number }>((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on('line', (line) => {
        if (!line.includes('runtime helper threads lowered')) return;
        resolve(JSON.parse(line) as { threads: number; nice: number });
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before lowering its helpers`)));
    });
    expect(lowered.nice).toBe(RUNTIME_HELPER_NICE);
    const nice = niceByThread(pid);
    // The event loop keeps the process's priority.
    expect(nice.get(pid)).toBe(0);
    const low = [...nice].filter(([, n]) => n === RUNTIME_HELPER_NICE).map(([tid]) => tid);
    // V8's four platform workers at least, and each one the log counted (none has ended since).
    expect(lowered.threads).toBeGreaterThanOrEqual(4);
    expect(low.length).toBe(lowered.threads);
    // The server's own worker threads are not among them: the catalog writer keeps its nice 10,
    // the verifier (started at the same moment) the process's 0.
    expect([...nice.values()]).toContain(10);
    const others = [...nice].filter(([tid, n]) => tid !== pid && n !== RUNTIME_HELPER_NICE);
    expect(others.length).toBeGreaterThanOrEqual(1);
    // Every one the server lowered predates its worker threads (thread ids grow).
    const writer = [...nice].find(([, n]) => n === 10)?.[0] as number;
    expect(Math.max(...low)).toBeLessThan(writer);
  });
});
