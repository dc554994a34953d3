import path from 'node:path';
import { PHASE_MIX_OPTIONS } from '../../config/schema.js';
import { computePhaseMixOnce } from '../../phasemix/compute-once.js';
import { createLogger } from '../../util/log.js';
import { defineCommand } from '../command.js';
import { oneShotDataRoot } from '../data-root-arg.js';

export const phaseMixCommand = defineCommand({
  name: 'phase-mix',
  summary:
    'Compute the dataset phase mix once (every episode, or a random sample) and print it as JSON. With --state-dir, uses and fills the label cache so the next run reads only new episodes.',
  options: PHASE_MIX_OPTIONS,
  async run(o) {
    const dataRoot = oneShotDataRoot(o.dataRoot, ['episodes']);
    const logger = createLogger({ level: o.logLevel, destination: process.stderr });
    const mix = await computePhaseMixOnce({
      dataRoot,
      ...(o.stateDir !== undefined ? { stateDir: path.resolve(o.stateDir) } : {}),
      sample: o.sample,
      resetState: o.resetState,
      logger,
    });
    process.stdout.write(`${JSON.stringify(mix, null, 2)}\n`);
    return 0;
  },
});
