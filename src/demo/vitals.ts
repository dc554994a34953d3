import type { HealthFile } from '../generate/records.js';
import type { Rng } from '../generate/rng.js';

const GIB = 1024 ** 3;
/** Below this share of free disk the host's shipper garbage-collects shipped episodes. */
const GC_BELOW = 0.04;

/**
 * A host's vital signs as its heartbeat reports them: disk that fills as episodes are recorded
 * and is freed by the shipper's gc, a small upload queue. Continuous from beat to beat, so the
 * Hosts scene shows a plausible trend rather than noise.
 */
export class HostVitals {
  private readonly totalBytes: number;
  private freeBytes: number;
  private queue = 0;
  private readonly version: string;

  constructor(
    readonly hostId: string,
    private readonly rng: Rng,
  ) {
    this.totalBytes = rng.pick([256, 512, 1024]) * GIB;
    this.freeBytes = Math.floor(this.totalBytes * rng.range(0.08, 0.7));
    this.version = rng.chance(0.25) ? 'cis490-shipper 1.7.9' : 'cis490-shipper 1.8.2';
  }

  /** An episode was recorded (its raw capture is far bigger than the tarball) and shipped. */
  recorded(tarballBytes: number): void {
    this.freeBytes -= tarballBytes * this.rng.int(2_000, 6_000);
    if (this.freeBytes < this.totalBytes * GC_BELOW) {
      this.freeBytes = Math.floor(this.totalBytes * this.rng.range(0.3, 0.6));
    }
    this.queue = this.rng.chance(0.2) ? this.rng.int(1, 3) : 0;
  }

  /** The heartbeat a healthy host writes at `nowMs`. */
  heartbeat(nowMs: number): HealthFile {
    return {
      host_id: this.hostId,
      last_heartbeat_wall: new Date(nowMs).toISOString(),
      disk_free_bytes: Math.max(0, Math.floor(this.freeBytes)),
      disk_total_bytes: this.totalBytes,
      queue_depth: this.queue,
      shipper_version: this.version,
    };
  }
}
