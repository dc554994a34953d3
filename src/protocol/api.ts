/**
 * Response bodies of the HTTP API (`/api/*`). Shared by the server's routes and the web app.
 */
import type { AlertRecord, EpisodeRecord, HostHealth, PhaseTransition } from './index.js';

/** Integrity of one episode in the catalog. */
export type EpisodeStatus = 'ok' | 'missing' | 'unindexed' | 'corrupt' | 'unverified';

export const EPISODE_STATUSES: readonly EpisodeStatus[] = [
  'ok',
  'missing',
  'unindexed',
  'corrupt',
  'unverified',
];

/** One row of `GET /api/episodes`. */
export interface EpisodeListItem extends EpisodeRecord {
  status: EpisodeStatus;
}

/** `GET /api/episodes`: newest first, keyset-paged. */
export interface EpisodesPage {
  items: EpisodeListItem[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  /** Rows matching the filter (all pages). */
  total: number;
}

/** `GET /api/episodes/facets`: counts under the current filter. */
export interface EpisodeFacets {
  host: Record<string, number>;
  status: Partial<Record<EpisodeStatus, number>>;
  /**
   * With `with_phases=1`: episodes under the filter whose labels hold each phase (an episode counts
   * once under every phase it has), and those whose phases are not known — tarball not read yet by
   * the phase mix, missing, or unreadable. An episode read with no labels is in neither.
   */
  phase?: Record<string, number>;
  phase_unknown?: number;
}

/** One label of an episode with the duration of its phase (null when unknown). */
export interface LabelWithDuration {
  phase: string | null;
  t_mono_ns: number | null;
  duration_s: number | null;
  /** The label record as written. */
  record: Record<string, unknown>;
}

export interface TarMember {
  name: string;
  size: number;
}

/** `GET /api/episodes/:id`. */
export interface EpisodeDetail {
  episode: EpisodeListItem;
  meta: Record<string, unknown> | null;
  labels: LabelWithDuration[];
  members: TarMember[];
  /** Why meta/labels/members could not be read, when they could not. */
  read_error: string | null;
  /** Where the download is served, when the file is on disk. */
  download_url: string | null;
  /**
   * True when `episode.received_at` is later than the server's clock: the record is kept as written,
   * and the "last hour" / "last 24 h" views and the host's "last episode" clamp it at now.
   */
  future_dated: boolean;
}

/** One row of `GET /api/hosts`. */
export interface HostSummary {
  host_id: string;
  /**
   * Scale-out only: the receiver this host ships to. Two receivers may both have a host of the
   * same name; they are two hosts, told apart by this field (absent on a single box).
   */
  receiver?: string;
  /** By the one rule of protocol/host-status.ts, as every scene shows it. */
  status: 'ok' | 'warning' | 'critical';
  /** Why, worst first (empty when ok); host-status.ts's `reasons`. */
  status_reasons: Array<{ level: 'warning' | 'critical'; text: string }>;
  /** Unique episodes in the index. */
  episodes: number;
  /** Sum of size_bytes in the index. */
  bytes: number;
  /** `*.tar.zst` files on disk and their bytes. */
  files_on_disk: number;
  bytes_on_disk: number;
  last_received_at: string | null;
  health: HostHealth | null;
  last_alert: AlertRecord | null;
  live_phase: PhaseTransition | null;
  /** Integrity counts (when the catalog's verifier has run). */
  integrity?: Partial<Record<EpisodeStatus, number>>;
}

export interface HostsResponse {
  hosts: HostSummary[];
}

/** One row of `GET /api/alerts?dedup=1`: alerts grouped by `dedup_key`. */
export interface AlertGroup extends AlertRecord {
  count: number;
  first_seen: string | null;
  last_seen: string | null;
}

/** `GET /api/alerts`. */
export interface AlertsPage {
  items: AlertRecord[] | AlertGroup[];
  next_cursor: string | null;
  total: number;
}
