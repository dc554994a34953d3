import { type Db, openDatabase } from '../catalog/db.js';
import type { PhaseMix } from '../protocol/index.js';
import { openStateDir } from '../state/state-dir.js';
import type { Logger } from '../util/log.js';
import { PhaseMixService } from './service.js';

export interface ComputePhaseMixOptions {
  dataRoot: string;
  /** When given, the catalog's cache is used and filled, so the next run reads only new files. */
  stateDir?: string;
  sample: number | 'all';
  /** Set aside a catalog of another data root instead of refusing it. */
  resetState?: boolean;
  logger: Logger;
}

/** One computation for the `phase-mix` CLI command: compute, print, exit. */
export async function computePhaseMixOnce(options: ComputePhaseMixOptions): Promise<PhaseMix> {
  // The state dir is owned for the computation, like a server's: never two writers on one catalog.
  const state = options.stateDir
    ? openStateDir({
        stateDir: options.stateDir,
        dataRoot: options.dataRoot,
        resetState: options.resetState ?? false,
        logger: options.logger,
      })
    : null;
  let db: Db | null = null;
  try {
    db = state ? openDatabase(state.stateDir) : null;
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
    state?.release();
  }
}
