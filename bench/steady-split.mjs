/**
 * Steady-state CPU per snapshot cycle, split into the main thread and the other threads, for one
 * built tree (A/B: run it for each tree, alternating). 100 cycles of 0.1 s on the cached 76k-line
 * python root (`npm run bench -- --quick` makes it), 10 new lines a cycle.
 *
 * Below the totals, each busy thread: its nice value (the catalog writer runs at nice 10, so it is
 * the one to tell apart), CPU ms and bytes written per cycle (/proc/PID/task/TID/{stat,io}), and
 * the process's bytes written and read per cycle. A thread's names are all "node", hence nice.
 *
 *   node bench/steady-split.mjs [TREE] [ROOT]   (TREE: a built checkout, default this one)
 *
 * SETTLE_S=25 waits that long after catch-up before measuring: a server gives memory back once
 * per thread, 5–10 s after its start-up stretch and 7.5 s after a busy one (src/util/idle-release.ts);
 * settled, the cycles show the steady state
 * alone, without that one-off collection.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStat } from './lib/proc.mjs';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tree = path.resolve(process.argv[2] ?? here);
const root = path.resolve(
  process.argv[3] ?? path.join(here, '.bench-data', 'root-h24-e2000-l76000-t16-s490-python'),
);

/** Per-thread CPU seconds, nice and bytes written; threads that end meanwhile are left out. */
function threads(pid) {
  const out = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const { cpu, nice } = procStat(`${pid}/task/${tid}`);
      const io = fs.readFileSync(`/proc/${pid}/task/${tid}/io`, 'utf8');
      out.set(tid, { cpu, nice, wchar: Number(/wchar: (\d+)/.exec(io)?.[1] ?? 0) });
    } catch {}
  }
  return out;
}
const procIo = (pid) => {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  return { w: Number(/wchar: (\d+)/.exec(io)?.[1]), r: Number(/rchar: (\d+)/.exec(io)?.[1]) };
};

const { caughtUpServer, measureCycles } = await import(path.join(tree, 'bench/cases/steady.mjs'));
const running = await caughtUpServer(root, 76_000, { args: ['--snapshot-interval', '0.1'] });
try {
  const settle = Number(process.env.SETTLE_S ?? 0);
  if (settle > 0) await new Promise((res) => setTimeout(res, settle * 1000));
  const pid = running.server.pid;
  const t0 = threads(pid);
  const io0 = procIo(pid);
  const m = await measureCycles(running, { cycles: 100, cycleSeconds: 0.1 });
  const t1 = threads(pid);
  const io1 = procIo(pid);
  const n = Math.max(1, m.cycles);
  const ms = (s) => ((s * 1000) / n).toFixed(2);
  const kib = (b) => (b / 1024 / n).toFixed(0);
  console.log(
    `${tree}: ${m.cycles} cycles, CPU per cycle ${ms(m.cpu)} ms (main thread ${ms(m.mainThreadCpu)}, other threads ${ms(m.otherThreadsCpu)}); written ${kib(io1.w - io0.w)} KiB, read ${kib(io1.r - io0.r)} KiB per cycle`,
  );
  const rows = [];
  for (const [tid, b] of t1) {
    const a = t0.get(tid) ?? { cpu: 0, wchar: 0 };
    if (b.cpu - a.cpu < 0.02 && b.wchar === a.wchar) continue;
    const role = tid === String(pid) ? 'main' : b.nice === 10 ? 'catalog writer' : 'other';
    rows.push({
      cpu: b.cpu - a.cpu,
      text: `  thread ${tid} (${role}, nice ${b.nice}): ${ms(b.cpu - a.cpu)} ms, ${kib(b.wchar - a.wchar)} KiB written per cycle`,
    });
  }
  for (const r of rows.sort((x, y) => y.cpu - x.cpu)) console.log(r.text);
} finally {
  await running.close();
}
