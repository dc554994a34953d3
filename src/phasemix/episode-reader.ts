import type { TarMember } from '../protocol/api.js';
import { errnoCode } from '../util/errors.js';
import { type LabelRecord, parseLabels, parseMeta } from './labels.js';
import { type MemberAction, TarError, type TarMemberHeader, TarReader } from './tar-reader.js';
import { type ByteSource, ZstdError, ZstdPuller, type ZstdWorkspace } from './zstd-stream.js';

/**
 * Extracts `labels.jsonl` and `meta.json` (matched by basename at any depth) from a `.tar.zst`,
 * in process and bounded, stopping as soon as both are read (or the archive ends), and optionally
 * lists every member. Pure over a `ByteSource`: the Node file adapter is in `episode-file.ts`.
 */

/** Why an episode's labels could not be read. */
export type EpisodeReadError =
  | 'too_large'
  | 'truncated'
  | 'not_zstd'
  | 'not_tar'
  | 'no_labels'
  | 'unreadable';

export const EPISODE_READ_ERRORS: readonly EpisodeReadError[] = [
  'too_large',
  'truncated',
  'not_zstd',
  'not_tar',
  'no_labels',
  'unreadable',
];

export interface EpisodeReadOptions {
  /** Also list every member (reads the whole archive, within `maxEpisodeBytes`). @default false */
  members?: boolean;
  /** Decompressed bytes read from one episode at most. @default 64 MiB */
  maxEpisodeBytes?: number;
  /** Size of `labels.jsonl` (and `meta.json`) at most. @default 16 MiB */
  maxLabelsBytes?: number;
}

export const DEFAULT_MAX_EPISODE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_LABELS_BYTES = 16 * 1024 * 1024;

export interface EpisodeContents {
  /** `meta.json` when present and a JSON object. */
  meta: Record<string, unknown> | null;
  /** The label records (JSON objects) of `labels.jsonl`, in file order; null when not read. */
  labels: LabelRecord[] | null;
  /** Non-blank `labels.jsonl` lines skipped because they were not JSON objects. */
  skippedLines: number;
  /** Every member (name, size) when asked for; those seen before an error otherwise. */
  members: TarMember[] | null;
  /**
   * What went wrong, if anything. With `labels` null the episode could not be used; with labels
   * present the failure came later (while looking for `meta.json` or listing members).
   */
  error: EpisodeReadError | null;
  /** One human sentence about the error. */
  errorDetail: string | null;
  /**
   * The error was the file system's, not the file's content (no permission, an I/O error, too
   * many open files, gone): the same bytes may read fine next time, so it is not to be cached.
   */
  transient: boolean;
  /** Decompressed bytes processed. */
  bytesDecompressed: number;
}

const LABELS = 'labels.jsonl';
const META = 'meta.json';

function basename(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash === -1 ? name : name.slice(slash + 1);
}

class EpisodeTooLarge extends Error {}

/**
 * One extraction, advanced a slice at a time by `step()` so a caller can yield to the event loop
 * between slices (a hostile 64 MiB episode must not hold the loop for its whole duration).
 */
export class EpisodeExtraction {
  private readonly puller: ZstdPuller;
  private readonly tar: TarReader;
  private readonly maxEpisode: number;
  private readonly maxMember: number;
  private readonly wantMembers: boolean;
  private total = 0;
  private finished = false;
  private collecting: 'labels' | 'meta' | null = null;
  private parts: Uint8Array[] = [];
  private labelsDone = false;
  private metaDone = false;
  private readonly out: EpisodeContents;

  constructor(ws: ZstdWorkspace, source: ByteSource, options: EpisodeReadOptions = {}) {
    this.puller = new ZstdPuller(ws, source);
    this.maxEpisode = options.maxEpisodeBytes ?? DEFAULT_MAX_EPISODE_BYTES;
    this.maxMember = options.maxLabelsBytes ?? DEFAULT_MAX_LABELS_BYTES;
    this.wantMembers = options.members ?? false;
    this.out = {
      meta: null,
      labels: null,
      skippedLines: 0,
      members: this.wantMembers ? [] : null,
      error: null,
      errorDetail: null,
      transient: false,
      bytesDecompressed: 0,
    };
    this.tar = new TarReader({
      member: (h) => this.onMember(h),
      data: (chunk) => {
        // The chunk is a view of a reused buffer: keep a copy.
        this.parts.push(chunk.slice());
        return undefined;
      },
      memberEnd: () => this.onMemberEnd(),
    });
  }

  get done(): boolean {
    return this.finished;
  }

  /** Decompresses and parses one slice (≤ 128 KiB); returns true when the extraction is over. */
  step(): boolean {
    if (this.finished) return true;
    try {
      const chunk = this.puller.next(this.maxEpisode - this.total + 1);
      if (chunk === null) {
        this.tar.end();
        this.finish(null, null);
        return true;
      }
      this.total += chunk.length;
      if (this.total > this.maxEpisode) throw new EpisodeTooLarge();
      if (this.tar.push(chunk) === 'done') this.finish(null, null);
    } catch (err) {
      this.fail(err);
    }
    return this.finished;
  }

  /** Runs every step at once (tests, small files). */
  runToEnd(): EpisodeContents {
    while (!this.step()) {
      /* keep stepping */
    }
    return this.result();
  }

  result(): EpisodeContents {
    this.out.bytesDecompressed = this.total;
    return this.out;
  }

  private onMember(h: TarMemberHeader): MemberAction {
    this.out.members?.push({ name: h.name, size: h.size });
    if (!h.isFile) return 'skip';
    const base = basename(h.name);
    if (base === LABELS && !this.labelsDone) {
      if (h.size > this.maxMember) {
        throw new TarError(
          'too_large',
          `${LABELS} of ${h.size} bytes is over the ${this.maxMember}-byte bound`,
        );
      }
      this.collecting = 'labels';
    } else if (base === META && !this.metaDone) {
      // An oversized meta.json is ignored (it only refines the last phase), not fatal.
      if (h.size > this.maxMember) {
        this.metaDone = true;
        return 'skip';
      }
      this.collecting = 'meta';
    } else {
      return 'skip';
    }
    this.parts = [];
    return 'read';
  }

  private onMemberEnd(): undefined | 'stop' {
    const body = Buffer.concat(this.parts);
    this.parts = [];
    if (this.collecting === 'labels') {
      const parsed = parseLabels(body);
      this.out.labels = parsed.records;
      this.out.skippedLines = parsed.skippedLines;
      this.labelsDone = true;
    } else if (this.collecting === 'meta') {
      this.out.meta = parseMeta(body);
      this.metaDone = true;
    }
    this.collecting = null;
    return !this.wantMembers && this.labelsDone && this.metaDone ? 'stop' : undefined;
  }

  private fail(err: unknown): void {
    if (err instanceof EpisodeTooLarge) {
      this.finish('too_large', `more than ${this.maxEpisode} decompressed bytes`);
    } else if (err instanceof TarError || err instanceof ZstdError) {
      this.finish(err.reason, err.message);
    } else {
      this.out.transient = errnoCode(err) !== undefined;
      this.finish('unreadable', err instanceof Error ? err.message : String(err));
    }
  }

  private finish(error: EpisodeReadError | null, detail: string | null): void {
    this.finished = true;
    this.parts = [];
    if (error === null && this.out.labels === null) {
      this.out.error = 'no_labels';
      this.out.errorDetail = `no ${LABELS} member in the archive`;
      return;
    }
    this.out.error = error;
    this.out.errorDetail = detail;
  }
}
