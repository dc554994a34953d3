/**
 * How fast the generator writes big roots. Not a test: run with
 *   npx vitest bench --run src/generate/generate.bench.ts
 * (`GEN_KEEP=1` keeps the roots and prints where they are, to look at them.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { generateDataRoot } from './generate.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cis490-gen-bench-'));
let runs = 0;
const fresh = (): string => path.join(base, `root-${runs++}`);

afterAll(() => {
  if (process.env.GEN_KEEP) console.log(`roots kept in ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
});

const once = { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 };

/** Runs `fn` and prints wall and CPU time: on a busy two-core box, CPU time is the steadier number. */
async function timed(label: string, fn: () => Promise<unknown>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`${label}: wall ${wallMs.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms`);
}

describe('generateDataRoot', () => {
  bench(
    'index.jsonl of 1,000,000 lines (index-only episodes)',
    async () => {
      await timed('1M index lines', () =>
        generateDataRoot({
          out: fresh(),
          hosts: 8,
          episodes: 0,
          indexLines: 1_000_000,
          alerts: 0,
          telemetryKb: 64,
          seed: 1,
        }),
      );
    },
    once,
  );

  bench(
    '2,000 episode tarballs with 64 KiB telemetry',
    async () => {
      await timed('2000 episodes x 64 KiB', () =>
        generateDataRoot({
          out: fresh(),
          hosts: 8,
          episodes: 2_000,
          alerts: 1_000,
          telemetryKb: 64,
          seed: 1,
        }),
      );
    },
    once,
  );
});
