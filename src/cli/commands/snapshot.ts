import { SNAPSHOT_OPTIONS } from '../../config/schema.js';
import { createPipeline } from '../../pipeline/pipeline.js';
import { createLogger } from '../../util/log.js';
import { defineCommand } from '../command.js';
import { oneShotDataRoot } from '../data-root-arg.js';

export const snapshotCommand = defineCommand({
  name: 'snapshot',
  summary:
    'Read the data root once (index, alerts, episodes/, health/) and print the snapshot as JSON. Uses no state dir and writes nothing.',
  options: SNAPSHOT_OPTIONS,
  async run(options) {
    const dataRoot = oneShotDataRoot(options.dataRoot, ['index.jsonl', 'alerts.jsonl', 'episodes']);
    // Logs go to stderr so stdout is exactly the JSON.
    const logger = createLogger({ level: options.logLevel, destination: process.stderr });
    const pipeline = createPipeline({
      dataRoot,
      stateDir: null,
      logger,
      pollInterval: 0.5,
      rescanInterval: 3600,
      snapshotInterval: 3600,
      replayBuffer: 100,
    });
    await pipeline.start();
    await pipeline.whenReady();
    const snapshot = pipeline.live.snapshot();
    await pipeline.stop();
    process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    return 0;
  },
});
