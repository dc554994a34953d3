import type { Static, TObject } from 'typebox';
import { formatHelp, parseOptions } from '../config/parse.js';

/** One CLI command: its flags (a config schema), a summary for --help, and its body. */
export interface Command {
  name: string;
  summary: string;
  options: TObject;
  /** --help text, from the schema. */
  help(): string;
  /** Parses argv (and CIS490_* variables) against the schema, then runs; returns the exit code. */
  run(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<number>;
}

/** A command whose body receives its options typed by the schema. */
export function defineCommand<T extends TObject>(spec: {
  name: string;
  summary: string;
  options: T;
  /** Long-running commands resolve when they have shut down. */
  run(options: Static<T>): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    options: spec.options,
    help: () => formatHelp(spec.name, spec.summary, spec.options),
    run: (argv, env = process.env) => spec.run(parseOptions(spec.options, argv, env)),
  };
}
