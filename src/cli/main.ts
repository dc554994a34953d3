// First: starts a server's scanner thread while the rest loads (a side effect, by design).
import './prestart.js';
import { DashboardError, EXIT_USAGE, errnoCode, UsageError } from '../util/errors.js';
import { packageVersion } from '../util/package-root.js';
import type { Command } from './command.js';
import { agentCommand } from './commands/agent.js';
import { demoCommand } from './commands/demo.js';
import { generateCommand } from './commands/generate.js';
import { phaseMixCommand } from './commands/phase-mix.js';
import { serveCommand } from './commands/serve.js';
import { snapshotCommand } from './commands/snapshot.js';

const COMMANDS: readonly Command[] = [
  serveCommand,
  demoCommand,
  generateCommand,
  snapshotCommand,
  phaseMixCommand,
  agentCommand,
];

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n');
  return `Usage: cis490-dashboard <command> [flags]\n\nLive operations dashboard for the CIS490 episode-collection lab.\n\nCommands:\n${rows}\n\nRun 'cis490-dashboard <command> --help' for a command's flags. Flags have CIS490_* environment equivalents.\n  --version    Print the version.\n`;
}

/**
 * The CLI: a thin layer over the programmatic API. Returns the exit code: 0 on success, 2 for a
 * usage error or a system error the user can fix (one line on stderr), 1 for anything unexpected
 * (with its stack).
 */
export async function run(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(
      `cis490-dashboard: no command given (commands: ${COMMANDS.map((c) => c.name).join(', ')}); 'cis490-dashboard --help' lists them\n`,
    );
    return EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (!command)
      throw new UsageError(
        'unknown_command',
        `unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`,
      );
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(command.help());
      return 0;
    }
    if (rest.includes('--version')) {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cis490-dashboard: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof DashboardError) {
      process.stderr.write(`cis490-dashboard: ${err.message} [${err.code}]\n`);
      return EXIT_USAGE;
    }
    // What the system refused — a folder not writable, a name too long, an address not this
    // machine's, a host name that does not resolve: the user's to fix, in Node's own one line.
    const code = errnoCode(err);
    if (code !== undefined && /^(E[A-Z0-9]+|EAI_[A-Z]+)$/.test(code) && err instanceof Error) {
      process.stderr.write(`cis490-dashboard: ${err.message.split('\n')[0]} [${code}]\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(
      `cis490-dashboard: unexpected error\n${err instanceof Error ? err.stack : String(err)}\n`,
    );
    return 1;
  }
}
