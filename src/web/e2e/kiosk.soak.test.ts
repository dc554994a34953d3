import fs from 'node:fs';
import path from 'node:path';
import type { CDPSession } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { DEMO_DEFAULTS, type RunningDemo, startDemo } from '../../demo/demo.js';
import { REPO_ROOT, WEB_DIST } from './build-web.js';
import { browserSuite } from './harness.js';

/**
 * Kiosk soak (`npm run test:soak`, not in CI): Chromium cycles every scene for SOAK_MINUTES
 * (default 20) while the demo simulator writes at 10× its normal rate. The page's JS heap and DOM
 * node count, read over the DevTools protocol after a forced GC, must stay flat: wall displays
 * that leak for hours are the top complaint about the alternatives.
 */

const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
/** 17 s against a 30 s rotation (6 scenes × 5 s): successive samples land on different scenes. */
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS ?? 17_000);
const WARMUP_MS = Math.min(60_000, (MINUTES * 60_000) / 5);
/** A leak grows without bound; bounded live data (200 recent rows, a chart) wobbles around a level. */
const FLAT_FACTOR = 1.3;
const SLACK_BYTES = 512 * 1024;

interface Sample {
  at_s: number;
  heap_used_bytes: number;
  dom_nodes: number;
  scene: string | null;
  /** Resident memory of all of the browser's processes: summed PSS (shared pages split between them). */
  browser_pss_bytes: number | null;
}

/**
 * Summed proportional set size of the processes whose command line names `marker` (Linux /proc;
 * null elsewhere). PSS, not RSS: Chromium's processes share most of their pages, and summed RSS
 * would count those once per process.
 */
function pssOfProcesses(marker: string): number | null {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  let total = 0;
  for (const pid of pids) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      total += Number(m?.[1] ?? 0) * 1024;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/** Peak resident memory of this process (the demo and its server run in it), from /proc. */
function selfPeakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

let demo: RunningDemo | null = null;
const suite = browserSuite('cis490-soak-e2e-');
afterAll(async () => {
  await demo?.stop();
  if (demo) fs.rmSync(demo.dir, { recursive: true, force: true });
});

async function measure(cdp: CDPSession): Promise<{ heap: number; nodes: number }> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name: string): number => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
  return { heap: get('JSHeapUsedSize'), nodes: get('Nodes') };
}

it(
  `kiosk keeps a flat heap and DOM over ${MINUTES} min at 10× the demo rate`,
  async () => {
    demo = await startDemo({
      ratePerMinute: DEMO_DEFAULTS.ratePerMinute * 10,
      seed: 490,
      server: { host: '127.0.0.1', port: 0, webDir: WEB_DIST, logLevel: 'silent' },
    });
    const page = suite.page;
    const cdp = await suite.browser.context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${demo.url}/?kiosk&scenes=overview,hosts,explorer,baseline,alerts,live&dwell=5`);
    await page.locator('[data-testid="connection"][data-status="connected"]').waitFor({ timeout: 30_000 });

    const started = Date.now();
    const samples: Sample[] = [];
    const end = started + MINUTES * 60_000;
    while (Date.now() < end) {
      // Sampling cadence, not synchronisation: the soak is a duration by definition.
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, Math.max(0, end - Date.now()))));
      const { heap, nodes } = await measure(cdp);
      const scene = await page.locator('main[data-scene]').getAttribute('data-scene');
      samples.push({
        at_s: Math.round((Date.now() - started) / 1000),
        heap_used_bytes: heap,
        dom_nodes: nodes,
        scene,
        browser_pss_bytes: pssOfProcesses(suite.browser.profile),
      });
    }

    const settled = samples.filter((s) => s.at_s * 1000 >= WARMUP_MS);
    const first = settled[0] ?? samples[0];
    const last = samples[samples.length - 1];
    if (first === undefined || last === undefined) throw new Error('no samples');
    const peakHeap = Math.max(...samples.map((s) => s.heap_used_bytes));
    const peakNodes = Math.max(...samples.map((s) => s.dom_nodes));
    const browserPss = samples.map((s) => s.browser_pss_bytes ?? 0);
    // Each scene against itself: its first settled sighting and its last.
    const scenes: Record<string, { first: number; last: number; peak: number; sightings: number }> = {};
    for (const s of settled) {
      const key = s.scene ?? 'none';
      const seen = scenes[key];
      if (seen) {
        seen.last = s.dom_nodes;
        seen.peak = Math.max(seen.peak, s.dom_nodes);
        seen.sightings++;
      } else scenes[key] = { first: s.dom_nodes, last: s.dom_nodes, peak: s.dom_nodes, sightings: 1 };
    }
    const report = {
      minutes: MINUTES,
      episodes_written: demo.simulator.stats().episodes,
      start: first,
      end: last,
      peak: {
        heap_used_bytes: peakHeap,
        dom_nodes: peakNodes,
        browser_pss_bytes: Math.max(...browserPss),
        server_rss_bytes: selfPeakRss(),
      },
      dom_nodes_by_scene: scenes,
      samples,
    };
    const out = path.join(REPO_ROOT, 'test-artifacts/soak.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(
      `soak ${MINUTES} min, ${report.episodes_written} episodes: heap ${mib(first.heap_used_bytes)} → ${mib(last.heap_used_bytes)} (peak ${mib(peakHeap)}), DOM nodes ${first.dom_nodes} → ${last.dom_nodes} (peak ${peakNodes}); browser memory peak ${mib(report.peak.browser_pss_bytes)} (PSS, all processes), test process (demo + server) peak RSS ${mib(report.peak.server_rss_bytes ?? 0)}; ${out}`,
    );
    console.log(
      `DOM nodes by scene, first → last (peak): ${Object.entries(scenes)
        .map(([name, d]) => `${name} ${d.first} → ${d.last} (${d.peak})`)
        .join(', ')}`,
    );

    expect(report.episodes_written).toBeGreaterThan(0);
    // The connection held (or came back) the whole time.
    expect(await page.locator('[data-testid="connection"]').getAttribute('data-status')).toBe('connected');
    // Heap: the last quarter's peak against the first settled quarter's (whatever scenes they caught).
    const quarter = Math.max(1, Math.floor(settled.length / 4));
    const early = Math.max(...settled.slice(0, quarter).map((s) => s.heap_used_bytes));
    const late = Math.max(...settled.slice(-quarter).map((s) => s.heap_used_bytes));
    console.log(`heap peak, first settled quarter ${mib(early)}, last quarter ${mib(late)}`);
    expect(late).toBeLessThan(early * FLAT_FACTOR + SLACK_BYTES);
    // DOM: scenes differ in size, so each scene against itself, first sighting vs last.
    for (const [scene, d] of Object.entries(scenes)) {
      expect(d.last, `DOM nodes on ${scene}`).toBeLessThan(d.first * FLAT_FACTOR + 200);
    }
  },
  (MINUTES + 5) * 60_000,
);

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
