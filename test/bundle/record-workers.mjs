// Preloaded (`node --import`) into the server test/bundle/bundle.test.ts starts: prints the file of
// every worker thread the process starts, once that thread runs, as one `worker online: FILE` line
// on stderr. A plain .mjs: `--import` takes no TypeScript.
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import workerThreads from 'node:worker_threads';

const Base = workerThreads.Worker;
workerThreads.Worker = class RecordedWorker extends Base {
  constructor(file, options) {
    super(file, options);
    const name = file instanceof URL ? fileURLToPath(file) : String(file);
    this.once('online', () => process.stderr.write(`worker online: ${name}\n`));
  }
};
// `import { Worker } from 'node:worker_threads'` (the bundle's form) reads the builtin's ESM
// bindings, which follow the CommonJS object only once synced.
syncBuiltinESMExports();
