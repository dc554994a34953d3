import type { ParsedOptions } from '../config/parse.js';
import type { OptionSpec } from '../config/schema.js';

/** One CLI command: its flags (from the config schema), a summary for --help, and its body. */
export interface Command {
  name: string;
  summary: string;
  options: readonly OptionSpec[];
  /** Returns the exit code. Long-running commands resolve when they have shut down. */
  run(options: ParsedOptions): Promise<number>;
}
