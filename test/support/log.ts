import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/util/log.js';

/** A logger (level debug) whose JSON lines land in `lines`, for tests that assert on logs. */
export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}
