/**
 * `npm run bench`: every benchmark of issue 7 side by side with the Python dashboard's feeder,
 * on data made by `generate`, printed as a table and written to BENCHMARKS.md.
 *
 *   npm run bench                 # full suite (< 10 min on 2 cores), writes BENCHMARKS.md
 *   npm run bench -- --quick      # smaller and single repetitions (< 2 min), prints only
 *   node bench/run.mjs --selftest # seconds, tiny data: keeps the runner from rotting (vitest)
 *   options: --out FILE (write the report there, any mode), --only a,b (cases by key),
 *            --reps N (alternating bootstrap repetitions, e.g. `--quick --only bootstrap --reps 3`)
 *
 * Imports nothing from src/: it drives `bin/cis490-dashboard.js` (compiled dist/) as a user does,
 * one fresh server process per measurement, load generators in their own processes, loopback only.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBootstrap } from './cases/bootstrap.mjs';
import { findExplorer, runPhaseMix, runScript } from './cases/external.mjs';
import { runLoad } from './cases/load.mjs';
import { runScaleout } from './cases/scaleout.mjs';
import { caughtUpServer, idleFootprint, measureCycles } from './cases/steady.mjs';
import { cacheDir, ensureRoot } from './lib/data.mjs';
import { loadAverage, machine } from './lib/machine.mjs';
import { repoRoot } from './lib/proc.mjs';
import { renderMarkdown, renderTable } from './lib/report.mjs';
import { locateSeed, seedSnapshot } from './lib/seed.mjs';
import { median, mib, ms, ratio, spread } from './lib/stats.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    selftest: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    reps: { type: 'string' },
  },
});
const mode = args.selftest ? 'selftest' : args.quick ? 'quick' : 'full';

// Index lines as a Python receiver writes them (`generate --index-style python`) unless a case
// says otherwise; the cold bootstrap also runs on `compact` and `mixed` lines at 1M.
const ROOT_SMALL = { hosts: 24, episodes: 2000, indexLines: 76_000 };
const ROOT_LARGE = { hosts: 24, episodes: 2000, indexLines: 1_000_000 };
const ROOT_LARGE_COMPACT = { ...ROOT_LARGE, indexStyle: 'compact' };
const ROOT_LARGE_MIXED = { ...ROOT_LARGE, indexStyle: 'mixed' };
const ROOT_TINY = { hosts: 2, episodes: 6, indexLines: 300, telemetryKb: 4 };
const ROOT_TINY_MIXED = { ...ROOT_TINY, indexStyle: 'mixed' };
const PROFILES = {
  full: {
    bootstrap: [
      ['76k', ROOT_SMALL],
      ['1M', ROOT_LARGE],
      ['1M compact', ROOT_LARGE_COMPACT],
      ['1M mixed', ROOT_LARGE_MIXED],
    ],
    bootReps: 3,
    steady: [
      ['76k', ROOT_SMALL],
      ['1M', ROOT_LARGE],
    ],
    cycles: 100,
    footprint: ['1M', ROOT_LARGE],
    idleSeconds: 30,
    phaseMix: { episodes: 2000, reps: 3 },
    loadOn: '76k',
    latency: { lines: 1000, rate: 100 },
    fanout: { clients: 1000, measured: 50, rate: 100, seconds: 30 },
    explorer: ['--rounds', '200'],
    explorerLines: 1_000_000,
    explorerTimeoutS: 400, // generation and catalog fill on a first run; bounds a script that never ends
    scaleout: {
      latency: { lines: 1000, rate: 100 },
      throughput: { lines: 100_000, timeoutS: 300 },
      failoverSeconds: 2,
      idleSeconds: 10,
    },
  },
  quick: {
    bootstrap: [
      ['1M', ROOT_LARGE],
      ['1M compact', ROOT_LARGE_COMPACT],
      ['1M mixed', ROOT_LARGE_MIXED],
    ],
    bootReps: 1,
    steady: [['76k', ROOT_SMALL]],
    cycles: 30,
    footprint: ['76k', ROOT_SMALL],
    idleSeconds: 3,
    phaseMix: { episodes: 200, reps: 1 },
    loadOn: '76k',
    latency: { lines: 300, rate: 100 },
    fanout: { clients: 200, measured: 20, rate: 100, seconds: 5 },
    explorer: ['--rounds', '50'],
    explorerLines: 100_000,
    explorerTimeoutS: 120,
    scaleout: {
      latency: { lines: 300, rate: 100 },
      throughput: { lines: 30_000, timeoutS: 180 },
      failoverSeconds: 1,
      idleSeconds: 3,
    },
  },
  selftest: {
    bootstrap: [
      ['tiny', ROOT_TINY],
      ['tiny mixed', ROOT_TINY_MIXED],
    ],
    bootReps: 1,
    steady: [['tiny', ROOT_TINY]],
    cycles: 5,
    footprint: ['tiny', ROOT_TINY],
    idleSeconds: 0.5,
    phaseMix: null,
    loadOn: 'tiny',
    latency: { lines: 20, rate: 100 },
    fanout: { clients: 5, measured: 2, rate: 100, seconds: 0.2 },
    explorer: null,
    scaleout: {
      latency: { lines: 20, rate: 100 },
      throughput: { lines: 500, timeoutS: 60 },
      failoverSeconds: 0.5,
      idleSeconds: 0.5,
    },
  },
};
const P = PROFILES[mode];
// --reps N: alternating repetitions of the bootstrap case (e.g. with --only bootstrap --quick).
if (args.reps) P.bootReps = Math.max(1, Number.parseInt(args.reps, 10) || 1);
const only = args.only ? new Set(args.only.split(',')) : null;
const wanted = (key) => !only || only.has(key);
const log = (msg) => process.stderr.write(`${msg}\n`);

const started = new Date();
const t0 = performance.now();
const loadBefore = loadAverage();
const seed =
  mode === 'selftest' && !process.env.CIS490_BENCH_SEED ? { missing: 'skipped in --selftest' } : locateSeed();
if (seed.missing) log(`seed baseline unavailable: ${seed.missing}`);
if (!fs.existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) {
  log('dist/ is missing: run `npm run build:server` (or `npx tsc -p tsconfig.build.json`) first');
  process.exit(2);
}

/** Every row of the summary table, and a details section per case. */
const rows = [];
const details = [];
const seedAt = {}; // per root label: seed _snapshot_state runs, reused as the per-cycle cost
const verdict = (ok) => (ok ? 'met' : 'missed');

async function guarded(key, title, fn) {
  if (key !== null && !wanted(key)) return;
  log(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${title} ...`);
  try {
    await fn();
  } catch (err) {
    rows.push({ case: title, goal: '', measured: `error: ${err.message.split('\n')[0]}`, verdict: 'error' });
    log(err.stack);
    process.exitCode = 1;
  }
}

const lines = (spec) => spec.indexLines;

// 1. Cold bootstrap ----------------------------------------------------------------------------
for (const [label, spec] of P.bootstrap) {
  const lineCount = label.split(' ')[0];
  const style = spec.indexStyle ?? 'python';
  const title = `cold bootstrap, ${lineCount} lines, ${style} style`;
  await guarded('bootstrap', title, async () => {
    const root = ensureRoot(spec, log);
    const r = await runBootstrap({ root, label, reps: P.bootReps, seed, log });
    seedAt[label] = r.seed;
    const ours = {
      inProcess: r.ours.map((o) => o.bootstrapSeconds),
      wall: r.ours.map((o) => o.wall),
      cpu: r.ours.map((o) => o.cpu),
      mainCpu: r.ours.map((o) => o.mainCpu),
      loop: r.ours.map((o) => o.loopDelayMax),
      livez: r.ours.map((o) => o.livezMax),
    };
    const sd = {
      fn: r.seed.map((s) => s.seconds),
      fnCpu: r.seed.map((s) => s.cpu_seconds),
      wall: r.seed.map((s) => s.process.wall),
      cpu: r.seed.map((s) => s.process.cpu),
    };
    const floor = { wall: r.floor.map((f) => f.wall), cpu: r.floor.map((f) => f.cpu) };
    // The issue's measure: the first pass against the seed's full pass, each timed inside its own
    // process (our `bootstrap_seconds`, the seed's `_snapshot_state`), alternating in one run. Both
    // passes run on one thread, so wall time compares like with like; whole-process figures (Node's
    // or Python's start-up included, our other threads' CPU included) are reported beside it.
    const passRatio = median(sd.fn) / median(ours.inProcess);
    const cpuRatio = median(sd.cpu) / median(ours.cpu);
    const wallRatio = median(sd.wall) / median(ours.wall);
    // The issue sets its goal at 1M lines; a smaller index shows the fixed costs (reading every
    // episode file's size for the per-host bytes, which the seed does not; the JIT warming up).
    const goalHere =
      lineCount === '1M' || mode === 'selftest' || !P.bootstrap.some(([l]) => l.startsWith('1M'));
    rows.push({
      case: title,
      goal: goalHere
        ? '≥ 3× the seed (first pass in-process); × of `wc -l`'
        : 'for scale: fixed costs (the goal is at 1M lines)',
      measured: r.seedMissing
        ? `ours ${median(ours.inProcess).toFixed(2)} s in-process, ${median(ours.wall).toFixed(2)} s process wall (seed: ${r.seedMissing})`
        : `seed/ours first pass ${ratio(median(sd.fn), median(ours.inProcess))}; whole process: wall ${ratio(median(sd.wall), median(ours.wall))}, CPU ${ratio(median(sd.cpu), median(ours.cpu))}; ours = ${ratio(median(ours.inProcess), median(floor.wall), 0)} of wc -l`,
      verdict: r.seedMissing ? 'skipped' : goalHere ? verdict(passRatio >= 3) : 'info',
      numbers: { passRatio, cpuRatio, wallRatio },
    });
    if (label === '1M' || label === 'tiny' || !P.bootstrap.some(([l]) => l === '1M')) {
      const worstLoop = Math.max(...ours.loop);
      const worstLivez = Math.max(...ours.livez);
      rows.push({
        case: `event loop during the ${label} bootstrap`,
        goal: '< 1 s (the seed stalls > 1 s); /livez answers',
        measured: `worst loop delay ${ms(worstLoop, 0)}; /livez max ${ms(worstLivez, 0)} over ${r.ours.reduce((n, o) => n + o.livezCount, 0)} polls`,
        verdict: verdict(worstLoop < 1 && worstLivez < 1),
      });
    }
    details.push(
      [
        `### Cold bootstrap, ${lineCount} lines, ${style} style (${P.bootReps} alternating rep${P.bootReps > 1 ? 's' : ''}; median (min..max))`,
        '',
        '| run | wall s | CPU s |',
        '|---|---|---|',
        `| ours: process start → \`/readyz\` 200 (fresh state dir) | ${spread(ours.wall)} | ${spread(ours.cpu)} |`,
        `| ours: in-process \`bootstrap_seconds\` | ${spread(ours.inProcess)} | |`,
        r.seedMissing
          ? `| seed: skipped (${r.seedMissing}) | | |`
          : `| seed: python3 process running \`_snapshot_state\` | ${spread(sd.wall)} | ${spread(sd.cpu)} |\n| seed: \`_snapshot_state\` alone | ${spread(sd.fn)} | ${spread(sd.fnCpu)} |`,
        `| floor: \`wc -l\` | ${spread(floor.wall)} | ${spread(floor.cpu)} |`,
        '',
        `Ours, worst event-loop delay from process start to ready: ${spread(
          ours.loop.map((x) => x * 1000),
          0,
        )} ms; slowest \`/livez\` while booting: ${spread(
          ours.livez.map((x) => x * 1000),
          0,
        )} ms. Of our CPU, the main thread took ${spread(ours.mainCpu)} s (Node start-up and module loading, the first pass, the episode and health scans), other threads (the catalog writer starting, libuv, GC helpers) the rest. CPU is the whole server process at the moment \`/readyz\` first answered 200.`,
        '',
      ].join('\n'),
    );
  });
}

// Append → WebSocket latency (run on the steady-state server, below) ------------------------------------------------------------------
async function latencyCase(running) {
  const { lines: n, rate } = P.latency;
  const r = await runLoad(running, { clients: 1, rate, lines: n, tag: 'lat' });
  rows.push({
    case: `append → WebSocket, ${n} lines at ${rate}/s`,
    goal: 'p99 ≤ 50 ms (seed: 1 s poll)',
    measured: `p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms, max ${r.max_ms.toFixed(1)} ms; ${r.lost} lost`,
    verdict: verdict(r.p99_ms <= 50 && r.lost === 0),
  });
  details.push(
    `### Append → WebSocket latency\n\nOne client and the writer in a separate process; each line timed from its \`write(2)\` to its \`episode\` event at the client (${r.deliveries}/${r.expected} delivered, achieved ${r.rate_achieved.toFixed(0)} lines/s). Server CPU meanwhile ${(r.server_cpu_share * 100).toFixed(1)} % of a core; its threads waited ${r.server_runqueue_wait_seconds.toFixed(1)} s for a CPU over ${r.load_seconds.toFixed(0)} s. The seed polls every 1 s, so its latency is 0–1 s (≈ 500 ms median) by construction.\n`,
  );
}

// Fan-out (likewise) ------------------------------------------------------------------------------------------
async function fanoutCase(running) {
  const { clients, measured, rate, seconds } = P.fanout;
  const n = Math.max(1, Math.round(rate * seconds));
  const r = await runLoad(running, { clients, measured, rate, lines: n, tag: 'fan' });
  rows.push({
    case: `fan-out, ${clients} clients, ${rate} events/s for ${seconds} s`,
    goal: 'p99 ≤ 100 ms, RSS ≤ 300 MB',
    measured: `p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms; server RSS ≤ ${mib(r.server_max_rss)}, CPU ${(r.server_cpu_share * 100).toFixed(0)} % of a core; ${r.lost} lost`,
    verdict: verdict(r.p99_ms <= 100 && r.server_max_rss <= 300e6 && r.lost === 0),
  });
  details.push(
    `### Fan-out\n\n${clients} clients (connected in ${r.connect_seconds.toFixed(1)} s) and the writer in one separate process; ${r.measured_clients} of the clients, spread over the connection order, time every line (the others only receive, so that decoding in the load process does not dominate what it measures): ${r.deliveries}/${r.expected} timed deliveries, max ${r.max_ms.toFixed(0)} ms, ${r.closed_early} clients closed by the server. The load process itself used ${(r.load_cpu_share * 100).toFixed(0)} % of a core  and the server ${(r.server_cpu_share * 100).toFixed(0)} %; the server's threads waited ${r.server_runqueue_wait_seconds.toFixed(1)} s in total for a CPU over the ${r.load_seconds.toFixed(0)} s (run-queue time from /proc schedstat), which is the share of the tail owed to a shared machine rather than to work.\n`,
  );
}

// 2. Steady state, footprint, and on the same caught-up server latency and fan-out ---------------
const steadyPerCycle = {};
const loadWanted = wanted('latency') || wanted('fanout');
for (const [label, spec] of P.steady) {
  if (!wanted('steady') && !(label === P.loadOn && loadWanted)) continue;
  await guarded(null, `steady state, ${label} lines`, async () => {
    const root = ensureRoot(spec, log);
    const cycleSeconds = 0.1;
    // The footprint is a server as deployed (default flags): the steady-state server below
    // publishes a snapshot every 0.1 s, which fills the replay ring with them.
    let idle = null;
    if (P.footprint[0] === label && wanted('steady')) {
      const plain = await caughtUpServer(root, lines(spec), { prefix: 'footprint' });
      try {
        idle = await idleFootprint(plain, P.idleSeconds);
      } finally {
        await plain.close();
      }
    }
    const running = await caughtUpServer(root, lines(spec), {
      args: ['--snapshot-interval', String(cycleSeconds)],
    });
    try {
      const m = !wanted('steady')
        ? null
        : await measureCycles(running, { cycles: P.cycles, cycleSeconds, tag: `steady${label}` });
      if (m) {
        steadyPerCycle[label] = m.cpuPerCycle;
        const seedCycle = seedAt[label]?.map((s) => s.cpu_seconds) ?? [];
        const seedCpu = seedCycle.length ? median(seedCycle) : Number.NaN;
        rows.push({
          case: `steady state, ${label} lines, 10 new lines per cycle`,
          goal: '≥ 100× less CPU per cycle than the seed',
          measured: `ours ${ms(m.cpuPerCycle, 2)} CPU/cycle; seed ${Number.isNaN(seedCpu) ? '-' : ms(seedCpu, 0)} → ${ratio(seedCpu, m.cpuPerCycle, 0)} less`,
          verdict: Number.isNaN(seedCpu) ? 'skipped' : verdict(seedCpu / m.cpuPerCycle >= 100),
        });
        details.push(
          [
            `### Steady state, ${label} lines`,
            '',
            `Server caught up (live state and catalog: ${running.catchUpSeconds.toFixed(1)} s after start), \`--snapshot-interval ${cycleSeconds}\`, ${m.linesAppended} lines appended 10 per cycle over ${m.seconds.toFixed(1)} s: ${m.cycles} snapshot cycles, ${m.cpu.toFixed(2)} s of server CPU (from /proc, every thread) = **${ms(m.cpuPerCycle, 2)} per cycle** (${(m.cpuPerSecond * 100).toFixed(1)} % of a core: main thread ${m.mainThreadCpu.toFixed(2)} s, other threads ${m.otherThreadsCpu.toFixed(2)} s; this counts everything the server did meanwhile: tailing, episode events, catalog writes, timers). The seed re-reads the whole index each cycle: its per-cycle cost is one \`_snapshot_state\` on the same file, measured in the bootstrap case (CPU ${seedCycle.length ? spread(seedCycle) : '-'} s).`,
            '',
          ].join('\n'),
        );
      }
      if (idle) {
        const seedFoot = seed.dir
          ? await seedSnapshot(seed.dir, root, { phaseMixSample: mode === 'selftest' ? 5 : 500 })
          : null;
        rows.push({
          case: `footprint, ${label} lines + ${spec.episodes} episodes`,
          goal: '≤ 150 MB RSS idle',
          measured: `ours ${mib(idle.rss)} idle (peak ${mib(idle.peak)}); seed process ${seedFoot ? mib(seedFoot.max_rss_bytes) : '-'}`,
          verdict: verdict(idle.rss <= 150e6),
        });
        details.push(
          [
            `### Footprint, ${label} lines + ${spec.episodes} episodes`,
            '',
            `Ours: RSS ${mib(idle.rss)} after ${P.idleSeconds} s idle, caught up (peak since start ${mib(idle.peak)}, V8 heap used ${mib(idle.heapUsed)}; RSS over the idle seconds: ${idle.samples
              .filter(
                (x, i, all) => i === 0 || i === all.length - 1 || [3, 10, 20].includes(Math.round(x.at)),
              )
              .map((x) => `${Math.round(x.at)} s ${mib(x.rss)}`)
              .join(', ')}). ` +
              (seedFoot
                ? `Seed: one python3 process running \`_snapshot_state\` then \`_compute_phase_mix(sample=500)\`: peak RSS ${mib(seedFoot.max_rss_bytes)} (its web server and clients not included, so this is the seed's floor).`
                : `Seed: skipped (${seed.missing}).`),
            '',
          ].join('\n'),
        );
      }
      // One catch-up (catalog fill and tarball verification take most of a minute) serves them all.
      if (label === P.loadOn) {
        await guarded('latency', 'append → WebSocket latency', () => latencyCase(running));
        await guarded('fanout', 'fan-out', () => fanoutCase(running));
      }
    } finally {
      await running.close();
    }
  });
}
if (Object.keys(steadyPerCycle).length > 1) {
  const [a, b] = Object.entries(steadyPerCycle);
  details.push(
    `Steady-state CPU per cycle does not grow with the index: ${a[0]} ${ms(a[1], 2)} vs ${b[0]} ${ms(b[1], 2)} (×${(b[1] / a[1]).toFixed(2)} for ×${(lines(ROOT_LARGE) / lines(ROOT_SMALL)).toFixed(0)} the lines).\n`,
  );
}

// 3. Phase mix (bench/phase-mix.mjs) --------------------------------------------------------------
if (P.phaseMix) {
  await guarded('phasemix', 'phase mix', async () => {
    if (!seed.dir) {
      rows.push({
        case: 'phase mix',
        goal: '≥ 10× the seed',
        measured: `skipped: ${seed.missing}`,
        verdict: 'skipped',
      });
      return;
    }
    const { json: j, text } = await runPhaseMix({ ...P.phaseMix, seedDir: seed.dir, cacheDir });
    if (!j) throw new Error(`bench/phase-mix.mjs printed no JSON: ${text.slice(-300)}`);
    const cold = j.python_cpu / j.ours_sqlite_cpu;
    rows.push({
      case: `phase mix cold, ${j.population} episodes`,
      goal: '≥ 10× the seed',
      measured: `ours ${Math.round(j.population / j.ours_sqlite_wall)} episodes/s vs seed ${Math.round(j.population / j.python_wall)}: CPU ${ratio(j.python_cpu, j.ours_sqlite_cpu)}, wall ${ratio(j.python_wall, j.ours_sqlite_wall)}`,
      verdict: verdict(cold >= 10),
    });
    const ideal = j.new / (j.population + j.new);
    const frac = j.refresh_new_wall / j.ours_sqlite_wall;
    rows.push({
      case: `phase mix after ${j.new} new episodes`,
      goal: `≈ ${j.new}/${j.population + j.new} of cold (${ideal.toFixed(4)}; met within 3×)`,
      measured: `${ms(j.refresh_new_wall, 1)} = ${frac.toFixed(4)} of cold`,
      verdict: verdict(frac <= ideal * 3),
    });
    details.push(
      [
        `### Phase mix (\`bench/phase-mix.mjs --episodes ${P.phaseMix.episodes} --reps ${P.phaseMix.reps}\`)`,
        '',
        '```',
        text.trim().split('\n').slice(0, -1).join('\n'),
        '```',
        '',
      ].join('\n'),
    );
  });
}

// 6. Explorer (bench/explorer.*, another issue's) ------------------------------------------------------
if (P.explorer) {
  await guarded('explorer', 'explorer', async () => {
    const script = findExplorer();
    if (!script) {
      rows.push({
        case: 'explorer `/api/episodes` at 1M episodes',
        goal: 'p99 ≤ 20 ms',
        measured: 'skipped: bench/explorer.* does not exist yet',
        verdict: 'skipped',
      });
      return;
    }
    // A cached root, and its warm catalog (ROOT.state) on reruns: the figures are warm requests.
    const root = path.join(cacheDir, `explorer-l${P.explorerLines}`);
    const { json, text } = await runScript(
      script,
      ['--lines', String(P.explorerLines), '--root', root, ...P.explorer],
      { timeoutMs: P.explorerTimeoutS * 1000 },
    );
    rows.push({
      case: `explorer \`/api/episodes\` at ${P.explorerLines / 1e6}M episodes`,
      goal: 'p99 ≤ 20 ms',
      measured: json ? explorerSummary(json) : 'see details',
      verdict: json ? verdict(worstP99(json).p99_ms <= 20) : 'see details',
    });
    // Its last line is the same figures as JSON: the table above it is enough here.
    const table = json ? text.trim().split('\n').slice(0, -1).join('\n') : text.trim();
    details.push(`### Explorer (\`${path.relative(repoRoot, script)}\`)\n\n\`\`\`\n${table}\n\`\`\`\n`);
  });
}

// 7. Scale-out (issue 13): 3 agents → Redis → 2 replicas behind a balancer, beside a single box --
if (P.scaleout) {
  await guarded('scaleout', 'scale-out', async () => {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      rows.push({
        case: 'scale-out (Redis Streams)',
        goal: '',
        measured: 'skipped: redis-server is not on PATH (Debian package redis-server)',
        verdict: 'skipped',
      });
      return;
    }
    const loadAt = loadAverage();
    const r = await runScaleout({ ...P.scaleout, log });
    const { cluster: lc, box: lb } = r.latency;
    const { lines: n, rate } = P.scaleout.latency;
    rows.push({
      case: `scale-out: append → browser through Redis, ${n} lines at ${rate}/s`,
      goal: 'p99 ≤ 50 ms',
      measured: `p50 ${lc.p50_ms.toFixed(1)} ms, p99 ${lc.p99_ms.toFixed(1)} ms, ${lc.lost} lost; single box p50 ${lb.p50_ms.toFixed(1)}, p99 ${lb.p99_ms.toFixed(1)} ms (cluster/box p99 ${ratio(lc.p99_ms, lb.p99_ms)})`,
      verdict: verdict(lc.p99_ms <= 50 && lc.lost === 0),
    });
    const t = r.throughput;
    rows.push({
      case: `scale-out: 3 agents → 2 replicas, ${t.lines} lines`,
      goal: '≥ 20,000 lines/s sustained, no loss',
      measured: `${Math.round(t.clusterRate)} lines/s into both replicas (exact totals: no loss, none twice; files → Redis ${Math.round(t.lines / t.streamSeconds)} lines/s); single box ${Math.round(t.boxRate)} lines/s (cluster/box ${ratio(t.clusterRate, t.boxRate, 2)}); CPU per line: ${cpuPerLine(t)}`,
      verdict: verdict(t.clusterRate >= 20_000),
    });
    const f = r.failover;
    rows.push({
      case: 'scale-out: viewer failover (replica SIGKILLed)',
      goal: '≤ 2 s to the first missed event, no gap, no duplicate',
      measured: `${(f.seconds * 1000).toFixed(0)} ms; ${f.events} events seen, ${f.gaps} gaps, ${f.dups} duplicates, ${f.resets} resets`,
      verdict: verdict(f.seconds <= 2 && f.gaps === 0 && f.dups === 0),
    });
    rows.push({
      case: 'scale-out: replica RSS idle after the loads',
      goal: "≤ 150 MB each (the single box's goal)",
      measured: `${r.rss.replicas.map(mib).join(', ')}; single box ${mib(r.rss.box)}`,
      verdict: verdict(r.rss.replicas.every((x) => x <= 150e6)),
    });
    details.push(
      [
        '### Scale-out (Redis Streams), side by side with the single box',
        '',
        `One run, the same machine: a real redis-server (AOF, appendfsync always), three agents on three data roots, two replicas (\`serve --redis\`) behind the round-robin balancer of \`demo --cluster\`, and one \`serve --data-root\` for the same loads. Load average when the case started: ${loadAt}. The machine is shared: compare the ratios more than the absolute figures.`,
        '',
        `- Latency: one WebSocket client through the balancer; each line timed from its write to its \`episode\` event (writer and client in bench/load/ws-load.mjs). Cluster: ${lc.deliveries}/${lc.expected} delivered, p50 ${lc.p50_ms.toFixed(1)} ms, p99 ${lc.p99_ms.toFixed(1)} ms, max ${lc.max_ms.toFixed(1)} ms. Single box: p50 ${lb.p50_ms.toFixed(1)} ms, p99 ${lb.p99_ms.toFixed(1)} ms, max ${lb.max_ms.toFixed(1)} ms.`,
        `- Throughput: ${t.lines / 3} lines into each of the three index files in 1,000-line writes (${t.writeSeconds.toFixed(2)} s to write), timed until both replicas' \`total_episodes\` equal every line: ${t.clusterSeconds.toFixed(2)} s = ${Math.round(t.clusterRate)} lines/s; the three agents had appended every line to the stream after ${t.streamSeconds.toFixed(2)} s (${Math.round(t.lines / t.streamSeconds)} lines/s), so the rest is the replicas applying it. The single box, the same ${t.lines} lines into its one index: ${t.boxSeconds.toFixed(2)} s = ${Math.round(t.boxRate)} lines/s.`,
        `- Failover: a viewer through the balancer while a writer appends 100 lines/s; its replica SIGKILLed; the viewer reconnects at once with \`?since=&epoch=\` (the web app first waits its backoff, ≤ 0.5 s) and lands on the other replica: ${(f.seconds * 1000).toFixed(0)} ms from the kill to the first event it had missed; ${f.gaps} gaps, ${f.dups} duplicates, ${f.resets} resets over ${f.events} events.`,
        `- RSS after ${P.scaleout.idleSeconds} s idle: replicas ${r.rss.replicas.map(mib).join(', ')}; single box ${mib(r.rss.box)}.`,
        '',
      ].join('\n'),
    );
  });
}

/** CPU µs per line of the scale-out burst: each agent (its third of the lines), each replica (all), Redis. */
function cpuPerLine(t) {
  const us = (seconds, lines) => `${((seconds / lines) * 1e6).toFixed(1)}`;
  const c = t.cpuSeconds;
  const all = c.agents.reduce((a, b) => a + b, 0) + c.replicas.reduce((a, b) => a + b, 0) + c.redis;
  return `agents ${c.agents.map((s) => us(s, t.lines / 3)).join('/')} µs, replicas ${c.replicas.map((s) => us(s, t.lines)).join('/')} µs, redis ${us(c.redis, t.lines)} µs; all processes ${us(all, t.lines)} µs (≈ ${Math.round(2 / (all / t.lines))} lines/s on 2 idle cores); single box ${us(c.box, t.lines)} µs`;
}

/** The slowest `/api/episodes` filter by p99 (bench/explorer.mjs reports one row per filter). */
function worstP99(j) {
  const rows = (j.results ?? []).filter((r) => r.endpoint === '/api/episodes');
  return rows.reduce((a, b) => (b.p99_ms > a.p99_ms ? b : a), {
    p99_ms: Number.NEGATIVE_INFINITY,
    filter: '-',
  });
}

function explorerSummary(j) {
  const rows = (j.results ?? []).filter((r) => r.endpoint === '/api/episodes');
  const w = worstP99(j);
  const p50s = rows.map((r) => r.p50_ms);
  return `${rows.length} filters: p50 ≤ ${Math.max(...p50s).toFixed(1)} ms, worst p99 ${w.p99_ms.toFixed(1)} ms (${w.filter}); server RSS ${j.server_rss_mb} MB`;
}

/** The commit measured: git's HEAD, or CIS490_BENCH_COMMIT for a tree exported without .git. */
function commitOf() {
  if (process.env.CIS490_BENCH_COMMIT) return process.env.CIS490_BENCH_COMMIT;
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'bin'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) return 'unknown';
  return `${r.stdout.trim()}${dirty.stdout.trim() ? ' (with uncommitted changes in src/ or bin/)' : ''}`;
}

// Report -------------------------------------------------------------------------------------------
const totalSeconds = (performance.now() - t0) / 1000;
const info = {
  mode,
  command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  date: started.toISOString(),
  seconds: totalSeconds,
  machine: machine(),
  loadBefore,
  loadAfter: loadAverage(),
  commit: commitOf(),
  seed: seed.dir ? path.relative(repoRoot, seed.dir) || seed.dir : `unavailable (${seed.missing})`,
};
process.stdout.write(renderTable(rows, info));
const out = args.out ?? (mode === 'full' ? path.join(repoRoot, 'BENCHMARKS.md') : null);
if (out) {
  fs.writeFileSync(out, renderMarkdown(rows, details, info));
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}
