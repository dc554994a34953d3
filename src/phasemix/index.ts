/** The dataset phase mix (issue 3): episode reading, aggregation, cache and the refresh service. */
export { aggregateEpisode, labelsWithDurations, metaEndNs } from './aggregate.js';
export { type ComputePhaseMixOptions, computePhaseMixOnce } from './compute-once.js';
export { readEpisode } from './episode-file.js';
export {
  EPISODE_READ_ERRORS,
  type EpisodeContents,
  type EpisodeReadError,
  type EpisodeReadOptions,
} from './episode-reader.js';
export {
  PhaseMixService,
  type PhaseMixServiceOptions,
  type PhaseMixStats,
} from './service.js';
