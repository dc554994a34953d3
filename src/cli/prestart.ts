/**
 * Imported first by the CLI, so it runs before the modules of the commands are evaluated: for a
 * command that serves a data root, the first pass's scanner thread and the catalog writer thread
 * start loading now, on the other core, while this thread loads the server (see `prestartScanner`
 * and `prestartCatalogWriter`; unused, they are ended).
 */
import { prestartCatalogWriter } from '../catalog/writer-prestart.js';
import { prestartScanner } from '../feeders/scanner-prestart.js';
import { detachEarly } from '../util/detach-early.js';
import { noteV8Workers } from '../util/v8-workers.js';
import { catchStopSignals } from './stop-signals.js';

const command = process.argv[2];
if (command === 'serve' || command === 'demo') {
  // First: a SIGTERM while the server's modules load is a clean stop once it is up (the command
  // takes this catcher over), not death by the signal.
  catchStopSignals();
  // Before any worker thread starts: the threads there now are Node's and V8's own.
  noteV8Workers();
  void prestartScanner();
  prestartCatalogWriter();
  // This thread moves columns to the scanner and the catalog writer: see `detachEarly`.
  detachEarly();
}
