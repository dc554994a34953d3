import fs from 'node:fs';
import path from 'node:path';
import { PHASE_MIX_OPTIONS } from '../../config/schema.js';
import { computePhaseMixOnce } from '../../phasemix/compute-once.js';
import { UsageError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { defineCommand } from '../command.js';

export const phaseMixCommand = defineCommand({
  name: 'phase-mix',
  summary:
    'Compute the dataset phase mix once (every episode, or a random sample) and print it as JSON. With --state-dir, uses and fills the label cache so the next run reads only new episodes.',
  options: PHASE_MIX_OPTIONS,
  async run(o) {
    const dataRoot = path.resolve(o.dataRoot);
    if (!fs.existsSync(dataRoot))
      throw new UsageError('data_root_missing', `--data-root ${dataRoot} does not exist`);
    if (!fs.statSync(dataRoot).isDirectory()) {
      throw new UsageError('data_root_not_dir', `--data-root ${dataRoot} is not a directory`);
    }
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
