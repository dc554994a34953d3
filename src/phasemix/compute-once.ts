import { openDatabase } from '../catalog/db.js';
import type { PhaseMix } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { PhaseMixService } from './service.js';

export interface ComputePhaseMixOptions {
  dataRoot: string;
  /** When given, the catalog's cache is used and filled, so the next run reads only new files. */
  stateDir?: string;
  sample: number | 'all';
  logger: Logger;
}

/** One computation for the `phase-mix` CLI command: compute, print, exit. */
export async function computePhaseMixOnce(options: ComputePhaseMixOptions): Promise<PhaseMix> {
  const db = options.stateDir ? openDatabase(options.stateDir) : null;
  try {
    const service = new PhaseMixService({
      dataRoot: options.dataRoot,
      db,
      logger: options.logger,
      sample: options.sample,
      publish: () => {},
    });
    return await service.refresh();
  } finally {
    db?.close();
  }
}
