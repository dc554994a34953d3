/**
 * The explorer thread: the explorer's reads over its own read-only connection to the catalog
 * (explorer-service.ts starts it). One call at a time, in the order posted; each answered with
 * its value or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errnoCode, errorMessage } from '../util/errors.js';
import { openDatabase } from './db.js';
import { EpisodeQueries } from './episodes-query.js';
import type { ExplorerCommand, ExplorerReply, ExplorerWorkerData } from './explorer-protocol.js';

const port = parentPort;
if (!port) throw new Error('explorer-worker.ts runs as a worker thread');
const data = workerData as ExplorerWorkerData;
const db = openDatabase(data.stateDir, { readonly: true });
const queries = new EpisodeQueries(db);

port.on('message', (command: ExplorerCommand) => {
  if (command.type === 'stop') {
    db.close();
    port.close();
    return;
  }
  let reply: ExplorerReply;
  try {
    // The method is one of EXPLORER_METHODS (the main thread's typed call names it), its
    // arguments that method's: the call is as typed on the other side.
    const method = queries[command.method] as (...args: unknown[]) => unknown;
    reply = { id: command.id, ok: true, value: method.apply(queries, command.args) };
  } catch (err) {
    reply = { id: command.id, ok: false, message: errorMessage(err), code: errnoCode(err) ?? null };
  }
  port.postMessage(reply);
});
