import { CompactBatchBuilder } from './index-compact.js';
import { MAX_LINE_BYTES } from './index-ranges.js';
import { scanIndexRange } from './index-scan.js';

/**
 * Index lines of the shapes receivers write (compact and `json.dumps` separators, any key order,
 * extra keys, a path, null and escaped values, every time form `parseIndexLine` reads), made up:
 * the scanner thread scans them while it waits for its pass (`warmScanner`), so V8 has compiled
 * the scanner's code by the time the real ranges come.
 */
function warmupLines(): string[] {
  const sha = 'a'.repeat(40) + '0123456789abcdef01234567';
  const lines: string[] = [];
  const times = [
    '"2026-10-12T20:52:16.488120-08:00"',
    '"2026-10-12T20:52:16Z"',
    '"2026-10-12T20:52:16.123Z"',
    '"2026-09-21T14:13:27.791991+00:00"',
    '"2026-09-21T09:13:21"',
    '1791867138.088',
    '1791867138',
  ];
  for (let i = 0; i < 28; i++) {
    const id = `ep-20261013T0446${String(i % 60).padStart(2, '0')}-${(0xd55b7f00 + i).toString(16)}`;
    const host = `host-${String(i % 24).padStart(2, '0')}`;
    const time = times[i % times.length] as string;
    const size = 5000 + i * 37;
    switch (i % 4) {
      case 0:
        lines.push(
          `{"episode_id":"${id}","host_id":"${host}","sha256":"${sha}","size_bytes":${size},"received_at_wall":${time}}`,
        );
        break;
      case 1:
        lines.push(
          `{"episode_id": "${id}", "host_id": "${host}", "sha256": "${sha}", "size_bytes": ${size}, "received_at_wall": ${time}}`,
        );
        break;
      case 2:
        lines.push(
          `{"received_at_wall": ${time}, "size_bytes": ${size}.0, "episode_id": "${id}", "host_id": "${host}", "sha256": null, "path": "episodes/${host}/${id}.tar.zst", "receiver_version": "1.4.2", "meta": {"tags": ["rerun"], "note": "", "n": 3}}`,
        );
        break;
      default:
        lines.push(
          `{"ratio": 1.5e-7, "episode_id": "${id}", "host_id": "ws-m\\u00fcller-${i}", "sha256": "${sha}", "size_bytes": ${size}, "received_at_wall": ${time}, "ok": true, "none": null, "list": [1, 2.5, "x"]}`,
        );
    }
  }
  return lines;
}

/** Lines scanned in all before the scanner stops warming (a few tens of milliseconds once compiled). */
const WARM_LINES = 60_000;

/**
 * Scans made-up index lines, a batch at a time between turns of the event loop, until `done()`
 * (the pass has come) or WARM_LINES are scanned. Nothing it builds is kept.
 */
export function warmScanner(done: () => boolean): void {
  const chunk = Buffer.from(`${warmupLines().join('\n')}\n`.repeat(8), 'utf8');
  const perRound = warmupLines().length * 8;
  const builder = new CompactBatchBuilder(perRound);
  let scanned = 0;
  const round = () => {
    if (done() || scanned >= WARM_LINES) return;
    scanIndexRange(chunk, 0, MAX_LINE_BYTES, builder);
    scanned += perRound;
    setImmediate(round);
  };
  setImmediate(round);
}
