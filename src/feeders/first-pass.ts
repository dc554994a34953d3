import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import {
  CONTROL,
  type FirstPassJob,
  type FirstPassResult,
  longestRange,
  RANGE_BYTES_PER_LINE,
  rangeCapacity,
  SCANNER_READY,
  type SpareColumns,
} from './first-pass-protocol.js';
import { bootTraceOn, traceAdd, traced, traceSet } from './first-pass-trace.js';
import {
  type CompactBatchBuilder,
  type CompactIndexBatch,
  compactIndexBatch,
  faultedColumns,
} from './index-compact.js';
import { MAX_LINE_BYTES, readRange } from './index-ranges.js';
import { type ScannedRange, scanIndexRange } from './index-scan.js';
import type { BulkLoader } from './jsonl-feeder.js';
import { rangeBuilder } from './range-builder.js';
import { primeScanner } from './scan-primer.js';
import { newScannerWorker, takePrestartedScanner } from './scanner-prestart.js';
import { type LineSink, splitLines } from './tail/lines.js';
import type { Checkpoint } from './tail/types.js';

/** What reading a range skipped or repaired, by reason, with excerpts for the log. */
export interface RangeRead {
  /** The range's length in bytes. */
  bytes: number;
  skips: ScannedRange['readSkips'];
  excerpts: ScannedRange['readSkipExcerpts'];
}

/**
 * A first-pass batch as read, once. A planned range (either thread scanned it) comes as its place
 * in the file and the descriptor it was read through (`file`), open until released: whoever needs
 * its lines again (the catalog writer, a recent window cut short by repeats) reads them through it
 * (a read from the page cache), rather than the bytes being held or copied to another thread —
 * memory freed on another thread is not reused here, and a million lines' worth of fresh pages
 * cost this thread more in page faults than scanning them (measured: 72,000 faults, +0.7 s).
 */
export type RawLines =
  | { kind: 'range'; file: SharedFd; fileOffset: number; length: number }
  | { kind: 'lines'; lines: string[] };

/** A descriptor shared by the first pass and whoever reads its ranges later: closed on the last release. */
export interface SharedFd {
  readonly fd: number;
  retain(): void;
  release(): void;
}

/** `fd` with one reference (the opener's); closed once every retain is released. */
export function sharedFd(fd: number): SharedFd {
  let refs = 1;
  return {
    fd,
    retain() {
      if (refs <= 0) throw new Error('descriptor already closed');
      refs++;
    },
    release() {
      if (refs <= 0) return;
      if (--refs === 0) fs.closeSync(fd);
    },
  };
}

/** The whole lines of a first-pass batch, split as the tailer splits them. */
export function rawLines(raw: RawLines): string[] {
  if (raw.kind === 'lines') return raw.lines;
  const bytes = readRange(raw.file.fd, raw.fileOffset, raw.fileOffset + raw.length);
  const sink: LineSink = { lines: [], skipped: [] };
  if (bytes.length > 0) splitLines(bytes, 0, bytes.length - 1, raw.fileOffset, MAX_LINE_BYTES, sink);
  return sink.lines;
}

/** Where a first-pass batch came from: the raw lines as read (once) and the position after them. */
export interface FirstPassSource {
  /** The bytes read and what reading them skipped (for the tailer's batches: what the tailer skipped). */
  read: RangeRead;
  raw: RawLines;
  checkpoint: Checkpoint;
  /** The batch's columns are its own (made for it by the scanner thread, never reused). */
  ownColumns?: boolean;
}

/** Fewer planned ranges than this are scanned on this thread alone (a thread's start costs more). */
export const SCANNER_MIN_RANGES = 4;
/**
 * Ranges taken (by either thread) and not yet delivered, at most: bounds the columns held (≈ 1 MiB
 * a range). Sixteen: the scanner never waits while the start-up work here (the HTTP app, the folder
 * scans) delays delivery (at eight it waited up to 60 ms of a python pass).
 */
const SCANNER_AHEAD = 16;
/**
 * Ranges this thread scans ahead of delivery when it helps the scanner, at most (a buffer and
 * builder each: ≈ 5 MiB, freed when the pass ends). Eight, not two: on a 1M-line mixed index this
 * thread waited 390–490 ms for the scanner while it scanned 8 of 54 ranges itself; helping until
 * the end with up to eight ahead took the pass from 1.256 to 1.083 s (medians of 6 alternating,
 * best 1.023 → 0.969 s), python and compact no slower.
 */
const OWN_AHEAD = 8;
/**
 * This thread helps the scanner only while the ranges left would take it longer than this: none
 * (see OWN_AHEAD; at 400 ms it stopped helping with ≈ a tenth of the pass still to scan).
 */
const HELP_MS = 0;

/** A batch builder of this thread's, busy while its batch is undelivered. */
interface Slot {
  builder: CompactBatchBuilder;
  busy: boolean;
}

/** One range scanned and ready to deliver. */
interface Scanned {
  batch: CompactIndexBatch;
  read: RangeRead;
  raw: RawLines;
  ownColumns: boolean;
}

/**
 * The cold start's first pass over the index: planned byte ranges are read and scanned byte-wise
 * (`scanRanges`), or — when no range could be planned — the tailer's batches of lines are parsed
 * compactly (`submit`, the feeder's bulk loader). Either way each batch reaches `deliver` in file
 * order, on this thread, which alone decides repeats and checkpoints; the event loop runs between
 * ranges (a range is a few milliseconds of work), so the server answers while a large index loads.
 *
 * A large index is scanned by a scanner thread (`first-pass-worker.ts`, the other core; started
 * ahead by `prestartScanner` when it can be): it
 * takes the ranges in order from a shared counter, and this thread only applies them, so the rest
 * of the start-up here (the HTTP app, the folder scans, the alerts) overlaps the scan. This thread
 * takes ranges from the same counter once that start-up is done, whenever its event loop has time
 * to spare, until none is left (`helpScanner`): scanning on both threads from the very start had V8
 * compile the scanner's code twice while the start-up still needed this thread — more CPU on a
 * two-core machine than the ranges it took saved. A range the scanner fails on, or every range once it is gone, is
 * scanned here. The scanner
 * reads through the same descriptor and moves its batch's columns here; its bytes stay there
 * (`raw` of kind `range`: read again through the descriptor should anything need them).
 */
export class FirstPassLoader implements BulkLoader {
  /**
   * Builders of the ranges this thread scans, reused: one is busy from the scan until its batch is
   * delivered (`deliver` applies a batch before it returns); up to OWN_AHEAD when it helps.
   */
  private slots: Slot[] = [];
  /**
   * The one buffer this thread reads its ranges into, sized for the plan's longest range: a batch
   * holds nothing of its range's bytes (its tail is copied), so the bytes are done with once the
   * range is scanned, and its raw lines are read again through the descriptor should anything need
   * them. A buffer per slot, grown whenever a range was longer than the slot's last, was up to
   * OWN_AHEAD × 4 MiB of fresh pages on this thread (≈ 10 µs a page fault on the bench's VM).
   */
  private readBuffer = Buffer.alloc(0);
  /** The plan's longest range, in bytes (`readBuffer`'s and each builder's size once this thread scans one). */
  private longest = 0;
  private closed = false;

  /**
   * `deliver` gets each batch with its source; the batch and the raw bytes are only valid until
   * it returns (or its promise settles): both are reused for the next range.
   */
  constructor(
    private readonly deliver: (batch: CompactIndexBatch, source: FirstPassSource) => void | Promise<void>,
    /** Called once, when the pass is over (`close`). */
    private readonly onDone: () => void | Promise<void> = () => {},
    /** Whether to start a scanner thread for a plan of SCANNER_MIN_RANGES or more (tests turn it off). */
    private readonly useScanner = true,
    /** This thread helps the scanner while the ranges left would take it longer than this (tests: 0). */
    private readonly helpMs = HELP_MS,
  ) {}

  /**
   * Scans the planned ranges of the file open at `file` (each [start, end) whole lines) and
   * delivers them in order; `checkpoint` is the plan's, each range's position its offset `end`.
   * Stops between ranges once `stopped()` says so. The scanner thread, if any, is gone when this
   * resolves (so the caller may close the descriptor).
   */
  async scanRanges(
    file: SharedFd,
    ranges: ReadonlyArray<readonly [number, number]>,
    checkpoint: Checkpoint,
    stopped: () => boolean = () => false,
  ): Promise<void> {
    const n = ranges.length;
    this.longest = longestRange(ranges);
    const scanner =
      this.useScanner && n >= SCANNER_MIN_RANGES ? ScannerThread.start(file.fd, ranges, SCANNER_AHEAD) : null;
    // This thread will help the scanner: its scan code gets type feedback for every branch first
    // (`primeScanner`; a pass this thread scans alone, a small index, is not worth the few
    // milliseconds). Now, not when it first helps: the alerts are read on this thread meanwhile,
    // through the same scanner code, and V8 compiled that from their lines alone, then threw it
    // away on the first range here (`--trace-deopt`: scan, string, number, scannedLine).
    if (scanner && !primed) {
      primed = true;
      primeScanner();
    }
    // The counters the scanner takes ranges from (this thread's own when it is alone).
    const control = scanner?.control ?? new Int32Array(2);
    /** Ranges this thread took to help the scanner, by index (each holds one of its slots until delivered). */
    const ahead = new Map<number, Scanned & { slot: Slot }>();
    const idle = new IdleGauge();
    let at = 0;
    try {
      for (; at < n && !stopped(); at++) {
        const [start, end] = ranges[at] as readonly [number, number];
        let scanned: (Scanned & { slot?: Slot }) | undefined = ahead.get(at);
        ahead.delete(at);
        // The scanner's, unless this thread took it to help (see `helpScanner`).
        while (
          !scanned &&
          scanner?.alive &&
          !scanner.has(at) &&
          this.helpScanner(scanner, control, n, ahead, idle)
        ) {
          const j = Atomics.add(control, CONTROL.next, 1);
          if (j >= n) break;
          const [js, je] = ranges[j] as readonly [number, number];
          ahead.set(
            j,
            traced('scan here', () => this.scanHere(file, js, je)),
          );
          await tick();
          scanned = ahead.get(at);
          ahead.delete(at);
        }
        // Waiting for the scanner: fault in columns for its next ranges meanwhile.
        while (!scanned && scanner?.alive && !scanner.has(at) && scanner.wantsSpare(n)) {
          traced('spare columns', () => scanner.sendSpare());
          await tick();
        }
        const waitFrom = bootTraceOn ? performance.now() : 0;
        const result = !scanned && scanner ? await scanner.take(at) : null;
        if (bootTraceOn && scanner && !scanned) traceAdd('wait for scanner', performance.now() - waitFrom);
        if (scanned) {
          // Taken here.
        } else if (result?.ok) {
          if (result.cpu !== undefined)
            traceSet('scanner', { cpuAtJob: result.cpuAtJob, cpu: result.cpu, blockedMs: result.blockedMs });
          // The tail's records are left as bytes by the scanner: the live state parses them
          // only if they are still the newest when it is read (`IndexAggregates.pushRecentLater`).
          scanned = {
            batch: result.batch,
            read: { bytes: result.length, skips: result.readSkips, excerpts: result.readSkipExcerpts },
            raw: { kind: 'range', file, fileOffset: start, length: result.length },
            ownColumns: true,
          };
        } else {
          // Alone, or the scanner failed on it or is gone: scanned here.
          scanned = traced('scan here', () => this.scanHere(file, start, end));
          // Nobody took it (the scanner was gone first): the next to take is after it.
          if (Atomics.load(control, CONTROL.next) <= at) Atomics.store(control, CONTROL.next, at + 1);
        }
        const { slot, ...source } = scanned;
        const deliverFrom = bootTraceOn ? performance.now() : 0;
        await this.deliver(scanned.batch, { ...source, checkpoint: { ...checkpoint, offset: end } });
        if (bootTraceOn) traceAdd('deliver', performance.now() - deliverFrom);
        if (slot) slot.busy = false;
        Atomics.store(control, CONTROL.delivered, at + 1);
        Atomics.notify(control, CONTROL.delivered);
        await tick();
      }
    } finally {
      // No range is taken any more; the scanner leaves its loop.
      Atomics.store(control, CONTROL.next, n);
      Atomics.store(control, CONTROL.delivered, n);
      Atomics.notify(control, CONTROL.delivered);
      // Every range delivered: the scanner no longer reads the descriptor, and readiness need not
      // wait for its thread to end. One stopped mid-pass may still be reading: waited for.
      if (at < n) await scanner?.stop();
      else void scanner?.stop();
    }
  }

  /**
   * Whether this thread takes the next range nobody took, to help the scanner: only once the rest
   * of the start-up here is done (its event loop has had time to spare), with fewer than OWN_AHEAD
   * of its own undelivered, and while the ranges left would keep the scanner busy for more than
   * `helpMs` at its pace so far (HELP_MS, none, unless a test says otherwise: see OWN_AHEAD for
   * what helping to the end measured).
   */
  private helpScanner(
    scanner: ScannerThread,
    control: Int32Array,
    n: number,
    ahead: ReadonlyMap<number, unknown>,
    idle: IdleGauge,
  ): boolean {
    if (ahead.size >= OWN_AHEAD) return false;
    const left = n - Atomics.load(control, CONTROL.next);
    if (left <= 0 || scanner.scanned < 2) return false;
    const msPerRange = (performance.now() - scanner.startedAt) / scanner.scanned;
    return left * msPerRange > this.helpMs && idle.spare();
  }

  /** Reads and scans one range on this thread, into the read buffer and a free slot's builder (reused). */
  private scanHere(file: SharedFd, start: number, end: number): Scanned & { slot: Slot } {
    let slot = this.slots.find((s) => !s.busy);
    if (!slot) {
      slot = { builder: rangeBuilder(this.longest), busy: false };
      this.slots.push(slot);
    }
    slot.busy = true;
    if (this.readBuffer.length < this.longest) this.readBuffer = Buffer.allocUnsafe(this.longest);
    const bytes = readRange(file.fd, start, end, this.readBuffer);
    const scanned = scanIndexRange(bytes, start, MAX_LINE_BYTES, slot.builder);
    return {
      slot,
      batch: scanned.batch,
      read: { bytes: end - start, skips: scanned.readSkips, excerpts: scanned.readSkipExcerpts },
      raw: { kind: 'range', file, fileOffset: start, length: bytes.length },
      ownColumns: false,
    };
  }

  async submit(
    lines: string[],
    checkpoint: Checkpoint,
    read: { bytes: number; skips: Record<string, number> },
  ): Promise<void> {
    // The tailer logged its skips' excerpts already.
    const source = { read: { ...read, excerpts: [] }, raw: { kind: 'lines', lines } as const, checkpoint };
    await this.deliver(compactIndexBatch(lines), source);
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.slots = [];
    this.readBuffer = Buffer.alloc(0);
    await this.onDone();
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether this thread's scan code was primed (`primeScanner`, once per thread). */
let primed = false;

/** This thread's event loop waited this long since the last look: it has time for a range. */
const SPARE_IDLE_MS = 5;

/**
 * Whether this thread's event loop has had time to spare: it waited (idle in its poll phase) at
 * least SPARE_IDLE_MS since some look — the rest of the start-up (the HTTP app, the folder scans)
 * no longer keeps it busy. Once it has, it stays so: that start-up is not done twice, and asked
 * again between two ranges the loop had rarely idled 5 ms, so this thread waited for the scanner
 * instead of taking a range (a 1M mixed pass: 40–49 such waits, 50–250 ms).
 */
class IdleGauge {
  private last = performance.eventLoopUtilization();
  private seen = false;

  spare(): boolean {
    if (this.seen) return true;
    const now = performance.eventLoopUtilization();
    const idleMs = now.idle - this.last.idle;
    this.last = now;
    this.seen = idleMs >= SPARE_IDLE_MS;
    return this.seen;
  }
}

/**
 * Column sets sent to the scanner and not yet matched by a range it answered, at most: the scanner
 * takes one per range, so a few cover the ranges it is scanning while the main thread waits.
 */
const SPARES_AHEAD = 4;

/** The scanner thread: it takes ranges itself; its results are kept by id until taken. */
class ScannerThread {
  private readonly results = new Map<number, FirstPassResult>();
  /** Column sets sent to it (`sendSpare`). */
  private sparesSent = 0;
  /**
   * The most lines a byte of a range it answered held (its spares' pages are faulted in for that
   * many); 0 until it answered one (the capacity's RANGE_BYTES_PER_LINE then).
   */
  private linesPerByte = 0;
  /** The longest deferred tail it sent (its spares carry room for a little more; 0: none yet). */
  private tailBytes = 0;
  /** The most `spans` units a range it answered used (its spares carry room for a little more). */
  private spanUnits = 0;
  private readonly waiters = new Map<number, (r: FirstPassResult | null) => void>();
  alive = true;
  /** Ranges it has answered, and when it was given the pass (its pace: `helpScanner`). */
  scanned = 0;
  readonly startedAt = performance.now();

  private constructor(
    private readonly worker: Worker,
    readonly control: Int32Array,
    private readonly spares: MessagePort,
    /** A spare column set's capacity: the longest range's (`rangeCapacity`, as the scanner sizes its own). */
    private readonly spareCapacity: number,
  ) {
    worker.on('message', (r: FirstPassResult | typeof SCANNER_READY) => {
      if (r === SCANNER_READY) return;
      this.scanned++;
      if (r.ok && r.length > 0) this.linesPerByte = Math.max(this.linesPerByte, r.batch.count / r.length);
      if (r.ok && r.batch.tailBytes) this.tailBytes = Math.max(this.tailBytes, r.batch.tailBytes.byteLength);
      if (r.ok) this.spanUnits = Math.max(this.spanUnits, r.batch.spans.length);
      const waiter = this.waiters.get(r.id);
      if (waiter) {
        this.waiters.delete(r.id);
        waiter(r);
      } else this.results.set(r.id, r);
    });
    // A scanner that fails or exits leaves its ranges to this thread (`take` answers null).
    const gone = () => {
      this.alive = false;
      for (const waiter of this.waiters.values()) waiter(null);
      this.waiters.clear();
    };
    worker.on('error', gone);
    worker.on('exit', gone);
  }

  /**
   * Whether a column set made here now would still find a range to fill: fewer than SPARES_AHEAD
   * sent beyond the ranges it answered, and no more than the pass's `n` ranges in all.
   */
  wantsSpare(n: number): boolean {
    return this.sparesSent < n && this.sparesSent - this.scanned < SPARES_AHEAD;
  }

  /**
   * Makes a column set for one range, its pages faulted in on this thread (which waits for the
   * scanner meanwhile), and moves it to the scanner: a range's ≈ 1 MiB of fresh columns cost the
   * scanner ≈ 3 ms of page faults on the bench's VM, on the pass's critical path.
   */
  sendSpare(): void {
    // Pages for the lines a range holds here (a few more than the densest so far), not for the
    // capacity (sized for short lines): a range of long lines leaves most of them untouched.
    const perByte = this.linesPerByte > 0 ? this.linesPerByte * 1.05 : 1 / RANGE_BYTES_PER_LINE;
    const tail = Math.ceil(this.tailBytes * 1.25);
    const columns = faultedColumns(
      this.spareCapacity,
      Math.ceil(this.spareCapacity * RANGE_BYTES_PER_LINE * perByte),
      tail,
      // None for an index whose lines need no `spans` records (python's, compact's). A little
      // over the most seen, as for the lines: a range's records hardly vary (1M foreign and mixed
      // indexes: the densest range 1.01× the median), and a quarter more was ≈ 2 MB more pages to
      // fault in and hold for a foreign index.
      Math.ceil(this.spanUnits * 1.05),
    );
    const buffers = Object.values(columns).map((c: ArrayBufferView) => c.buffer as ArrayBuffer);
    this.spares.postMessage({ columns } satisfies SpareColumns, buffers);
    this.sparesSent++;
  }

  /** A scanner thread taking `ranges` of the file open at `fd`, or null when none can be started. */
  static start(
    fd: number,
    ranges: ReadonlyArray<readonly [number, number]>,
    ahead: number,
  ): ScannerThread | null {
    try {
      const shared = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
      const worker = takePrestartedScanner() ?? newScannerWorker();
      const { port1, port2 } = new MessageChannel();
      const job: FirstPassJob = { fd, ranges, control: shared, ahead, spares: port2 };
      worker.postMessage(job, [port2]);
      return new ScannerThread(worker, new Int32Array(shared), port1, rangeCapacity(longestRange(ranges)));
    } catch {
      return null;
    }
  }

  has(id: number): boolean {
    return this.results.has(id);
  }

  /** The result of range `id` (which the scanner took) once it came; null when the thread is gone without it. */
  take(id: number): Promise<FirstPassResult | null> {
    const r = this.results.get(id);
    if (r) {
      this.results.delete(id);
      return Promise.resolve(r);
    }
    if (!this.alive) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  /** Ends the thread; resolves once it no longer reads through the descriptor. */
  async stop(): Promise<void> {
    this.spares.close();
    await this.worker.terminate();
  }
}
