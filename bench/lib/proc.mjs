/**
 * Processes the benchmarks drive: the server (a fresh `serve` process per measurement), shell
 * commands timed by bash's `time`, and /proc readings of another process's CPU and memory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repoRoot, 'bin', 'cis490-dashboard.js');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * `/proc/<where>/stat` of a process (`pid`) or a thread (`pid/task/tid`): its command name, user +
 * system CPU seconds and nice value. Throws when it is gone.
 */
export function procStat(where) {
  const stat = fs.readFileSync(`/proc/${where}/stat`, 'utf8');
  // Fields after the command name, which sits in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpu: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    nice: Number(fields[16]),
  };
}

/** User + system CPU seconds of a live process, threads included (Linux /proc). */
export function procCpuSeconds(pid) {
  return procStat(pid).cpu;
}

/**
 * CPU seconds by thread: the main (JavaScript) thread, and the sum of all others (worker threads
 * such as the catalog writer and verifier, libuv's pool, V8's GC helpers).
 */
export function procThreadCpu(pid) {
  let main = 0;
  let others = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let cpu = 0;
    try {
      cpu = procCpuSeconds(`${pid}/task/${tid}`);
    } catch {
      continue; // The thread ended meanwhile.
    }
    if (tid === String(pid)) main = cpu;
    else others += cpu;
  }
  return { main, others };
}

/**
 * Seconds a process's threads spent runnable but waiting for a CPU (Linux schedstat): on a shared
 * machine this separates "the server was slow" from "the server was not given a core".
 */
export function procRunQueueWaitSeconds(pid) {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // The thread ended meanwhile, or schedstat is unavailable.
    }
  }
  return ns / 1e9;
}

/** Resident and peak resident bytes of a live process. */
export function procMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** One GET on loopback: status, parsed JSON body (or text) and the round-trip seconds. */
export function get(url, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Prometheus text and HTML stay text.
        }
        resolve({ status: res.statusCode, body, seconds: (performance.now() - t0) / 1000 });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** A value from Prometheus text: the first sample of `name` whose labels contain `labelPart`. */
export function metric(text, name, labelPart = '') {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`cis490_dashboard_${name}`)) continue;
    const rest = line.slice(`cis490_dashboard_${name}`.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labelPart && !rest.includes(labelPart)) continue;
    return Number(rest.slice(rest.lastIndexOf(' ') + 1));
  }
  return Number.NaN;
}

/**
 * Starts `cis490-dashboard serve` on port 0 and resolves once it prints its URL. `t0` is the
 * performance.now() of the spawn, so callers can time the whole process from birth. `bin` runs
 * another build's CLI (an older checkout, for a before/after figure); `env` adds to its environment.
 */
export function startServer({ dataRoot, stateDir, args = [], nodeArgs = [], bin = cli, env = {} }) {
  const t0 = performance.now();
  // Run as a user does: the bin executed itself (`#!/usr/bin/env node`), this Node first on PATH.
  // With Node flags (a profile), through Node.
  const direct = nodeArgs.length === 0;
  const child = spawn(
    direct ? bin : process.execPath,
    [
      ...(direct ? [] : [...nodeArgs, bin]),
      'serve',
      '--data-root',
      dataRoot,
      '--state-dir',
      stateDir,
      '--port',
      '0',
      '--log-level',
      'info',
      ...args,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...env },
    },
  );
  const logs = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  const lines = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    let resolved = false;
    /** Waiters for a log line: [predicate, resolve]. */
    let logWaiters = [];
    lines.on('line', (line) => {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      rec.at = performance.now();
      if (logs.length < 10_000) logs.push(rec);
      for (const waiter of logWaiters.filter(([matches]) => matches(rec))) waiter[1](rec);
      logWaiters = logWaiters.filter(([matches]) => !matches(rec));
      if (!resolved && rec.msg === 'listening' && rec.url) {
        resolved = true;
        resolve({
          pid: child.pid,
          url: rec.url,
          t0,
          logs,
          exited,
          /** The first log record (seen so far or to come) that `matches`, with `at` when it was read. */
          logLine(matches) {
            const seen = logs.find(matches);
            return seen ? Promise.resolve(seen) : new Promise((found) => logWaiters.push([matches, found]));
          },
          /**
           * SIGTERM, then SIGKILL if it is still there after `graceMs` (a profiled server needs
           * the time to finish its shutdown: `--cpu-prof` writes its file only on a clean exit).
           */
          async stop(graceMs = 8000) {
            if (child.exitCode !== null || child.signalCode !== null) return exited;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            const r = await exited;
            clearTimeout(timer);
            return r;
          },
        });
      }
    });
    exited.then(({ code, signal }) => {
      if (!resolved) reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
}

/** Polls until `check()` returns a truthy value; `intervalMs` apart, `timeoutMs` in all. */
export async function pollUntil(check, { intervalMs = 200, timeoutMs = 300_000, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Runs a command under bash's `time` builtin: wall, user and system seconds of the whole command
 * (children included), and its stdout.
 */
export function timed(argv, { cwd } = {}) {
  return new Promise((resolve, reject) => {
    // `time` reports on the shell's stderr; the command's own stderr is discarded.
    const script = 'TIMEFORMAT="%R %U %S"; time "$@" 2>/dev/null';
    const child = spawn('bash', ['-c', script, 'timed', ...argv.map(String)], { cwd });
    let out = '';
    let times = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      times += c;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const m = /([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(times);
      if (code !== 0 || !m) {
        reject(new Error(`${argv.join(' ')} failed (${code}): ${times.slice(-500)}`));
        return;
      }
      resolve({ stdout: out, wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]) });
    });
  });
}
