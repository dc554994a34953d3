import type { Rng } from './rng.js';

/** What telemetry needs of a phase label (episode.ts's PhaseLabel has more). */
interface TelemetryLabel {
  phase: string;
  t_mono_ns: number;
}

/** Name of the telemetry member inside an episode tarball. */
export const TELEMETRY_FILE = 'telemetry.csv';

const HEADER = 't_mono_ns,phase,cpu_pct,mem_mb,net_rx_bytes,net_tx_bytes,disk_write_bytes,procs\n';
/** A typical line's length, to spread the samples over the episode's duration. */
const TYPICAL_LINE = 64;

/** How busy a host is in each phase: means of the random walks below. */
const PROFILE: Record<string, { cpu: number; net: number; disk: number; procs: number }> = {
  boot: { cpu: 60, net: 2_000, disk: 400_000, procs: 90 },
  baseline: { cpu: 8, net: 1_500, disk: 20_000, procs: 110 },
  infecting: { cpu: 45, net: 80_000, disk: 900_000, procs: 125 },
  infected_running: { cpu: 70, net: 250_000, disk: 300_000, procs: 140 },
  failed: { cpu: 2, net: 0, disk: 0, procs: 60 },
};
const IDLE = { cpu: 5, net: 500, disk: 5_000, procs: 100 };

/**
 * Exactly `bytes` bytes of CSV samples (ASCII): a header, then one line per sample with the phase
 * in force and counters that wander around that phase's profile. Compressible like real
 * telemetry, deterministic for a given `rng`. The last line is a `#` comment padded to the size.
 */
export function renderTelemetry(
  bytes: number,
  labels: readonly TelemetryLabel[],
  monoStartNs: number,
  monoEndNs: number,
  rng: Rng,
): Buffer {
  if (bytes <= 0) return Buffer.alloc(0);
  // Written straight into the result: no big intermediate strings, and it is exactly `bytes` long.
  const out = Buffer.allocUnsafe(bytes);
  let used = 0;
  const expectedLines = Math.max(1, Math.floor(bytes / TYPICAL_LINE));
  const stepNs = Math.max(1_000_000, Math.floor((monoEndNs - monoStartNs) / expectedLines));
  let t = monoStartNs;
  let phaseIndex = -1;
  let cpuTenths = 200;
  let mem = 1_800;
  let procs = 100;
  let line = HEADER;
  while (used + line.length < bytes) {
    used += out.write(line, used, 'latin1');
    t += stepNs;
    while (phaseIndex + 1 < labels.length && (labels[phaseIndex + 1]?.t_mono_ns ?? Infinity) <= t)
      phaseIndex++;
    const phase = labels[phaseIndex]?.phase ?? 'boot';
    const p = PROFILE[phase] ?? IDLE;
    // CPU in tenths of a percent, as an integer: formatting `x.toFixed(1)` costs more than the rest of the line.
    cpuTenths += Math.round((p.cpu * 10 - cpuTenths) * 0.2) + rng.int(-40, 40);
    cpuTenths = Math.min(Math.max(cpuTenths, 0), 1000);
    mem = Math.max(200, mem + rng.int(-8, 10));
    procs = Math.max(1, procs + Math.round((p.procs - procs) * 0.1) + rng.int(-1, 1));
    const rx = Math.round(p.net * rng.range(0.5, 1.5));
    const tx = Math.round(p.net * 0.3 * rng.range(0.5, 1.5));
    const disk = Math.round(p.disk * rng.range(0.2, 1.8));
    line = `${t},${phase},${Math.floor(cpuTenths / 10)}.${cpuTenths % 10},${mem},${rx},${tx},${disk},${procs}\n`;
  }
  out.write(pad(bytes - used), used, 'latin1');
  return out;
}

/** A line of exactly `n` bytes (`n` ≥ 1) that a CSV reader skips. */
function pad(n: number): string {
  if (n <= 0) return '';
  if (n === 1) return '\n';
  return `#${' '.repeat(n - 2)}\n`;
}
