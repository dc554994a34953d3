/**
 * Quick throughput check of the tailer (a script, not a test; see the lead's bench/ for the suite):
 *
 *   npx tsc --outDir /tmp/tailperf --module nodenext --moduleResolution nodenext --target es2022 \
 *     --skipLibCheck src/feeders/tail/perf.ts && node /tmp/tailperf/feeders/tail/perf.js [lines] [file]
 *
 * Writes a JSONL file of `lines` lines (~250 bytes each, 1M by default), then times (1) the floor:
 * 1 MiB reads + one `toString` + `split('\n')` per chunk, (2) the tailer from byte 0 to caught up,
 * (3) the delay from an append to `onBatch` while following (folder watch; polling as backstop).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JsonlTailer } from '../../src/feeders/tail/tailer.js';

const lines = Number(process.argv[2] ?? 1_000_000);
const file = process.argv[3] ?? path.join(os.tmpdir(), `tail-perf-${lines}.jsonl`);

function generate(): void {
  if (fs.existsSync(file)) return;
  const fd = fs.openSync(file, 'w');
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += `${JSON.stringify({
      episode_id: `ep-${i.toString(16).padStart(12, '0')}`,
      host_id: `host-${i % 37}`,
      sha256: (i * 2654435761).toString(16).padStart(64, 'a'),
      size_bytes: 1_000_000 + i,
      received_at_wall: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      path: `episodes/host-${i % 37}/ep-${i}.tar.zst`,
    })}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

function floor(): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  let count = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    const last = buf.lastIndexOf(10, n - 1);
    count += buf.toString('utf8', 0, last).split('\n').length;
    pos += last + 1;
  }
  fs.closeSync(fd);
  return count;
}

async function tail(): Promise<number> {
  let count = 0;
  const tailer = new JsonlTailer({
    path: file,
    onBatch(b) {
      count += b.lines.length;
    },
  });
  await tailer.start();
  await tailer.whenCaughtUp();
  await tailer.stop();
  return count;
}

generate();
const size = fs.statSync(file).size;
for (let round = 0; round < 5; round++) {
  let t = performance.now();
  let cpu = process.cpuUsage();
  const a = floor();
  const floorMs = performance.now() - t;
  const floorCpu = process.cpuUsage(cpu);
  t = performance.now();
  cpu = process.cpuUsage();
  const b = await tail();
  const tailMs = performance.now() - t;
  const tailCpu = process.cpuUsage(cpu);
  const cpuMs = (c: NodeJS.CpuUsage) => `${((c.user + c.system) / 1000).toFixed(0)} ms cpu`;
  const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en')} lines/s`;
  console.log(
    `${(size / 1e6).toFixed(0)} MB, ${b} lines: floor ${floorMs.toFixed(0)} ms, ${cpuMs(floorCpu)} (${rate(a, floorMs)}); ` +
      `tailer ${tailMs.toFixed(0)} ms, ${cpuMs(tailCpu)} (${rate(b, tailMs)}); rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
  );
}

async function latency(samples: number): Promise<number[]> {
  const small = path.join(os.tmpdir(), `tail-latency-${process.pid}.jsonl`);
  fs.writeFileSync(small, '');
  let arrived = (): void => {};
  const tailer = new JsonlTailer({
    path: small,
    onBatch() {
      arrived();
    },
  });
  await tailer.start();
  await tailer.whenCaughtUp();
  const delays: number[] = [];
  for (let i = 0; i < samples; i++) {
    const got = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const t = performance.now();
    fs.appendFileSync(small, `{"i":${i}}\n`);
    await got;
    delays.push(performance.now() - t);
  }
  await tailer.stop();
  fs.rmSync(small);
  return delays.sort((x, y) => x - y);
}

const delays = await latency(50);
console.log(
  `append -> onBatch: median ${delays[25]?.toFixed(1)} ms, max ${delays.at(-1)?.toFixed(1)} ms (50 appends)`,
);
