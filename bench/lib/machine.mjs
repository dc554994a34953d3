/** What the numbers were measured on: the header of BENCHMARKS.md. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unavailable';
  }
}

export function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return {
    nproc: run('nproc', []),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memory: run('free', ['-h']).split('\n').slice(0, 2).join('\n'),
    node: process.version,
    python: run('python3', ['--version']),
    zstd: run('zstd', ['--version']),
    kernel: `${os.type()} ${os.release()}`,
  };
}

export function loadAverage() {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
