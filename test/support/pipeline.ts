import { createPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { silentLogger } from '../../src/util/log.js';

/**
 * A pipeline on `root` for a test: quiet, polling every 50 ms, its rescans and snapshot timer out
 * of the way (tests wait for events, or call the timer's method themselves). `stateDir` null: an
 * in-memory catalog.
 */
export function testPipeline(root: string, stateDir: string | null, options: Partial<PipelineOptions> = {}) {
  return createPipeline({
    dataRoot: root,
    stateDir,
    logger: silentLogger(),
    pollInterval: 0.05,
    rescanInterval: 3600,
    snapshotInterval: 3600,
    replayBuffer: 10_000,
    ...options,
  });
}
