import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerConfig {
  /** @default 'info' */
  level?: LogLevel;
  /** Where JSON lines go; tests pass a stream and assert on the lines. @default stdout */
  destination?: DestinationStream;
  /** Human-readable output; by default only when stdout is a TTY. */
  pretty?: boolean;
}

/** Structured logs: pino JSON lines, pretty only on a terminal. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { name: 'cis490-dashboard' },
  };
  if (config.destination) return pino(options, config.destination);
  const usePretty = config.pretty ?? process.stdout.isTTY === true;
  if (usePretty) return pino(options, pretty({ colorize: true, ignore: 'pid,hostname,name' }));
  return pino(options);
}

/** A logger that drops everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
