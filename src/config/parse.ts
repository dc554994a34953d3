import { UsageError } from '../util/errors.js';
import type { OptionSpec } from './schema.js';

export type OptionValue = string | number | boolean | undefined;
export type ParsedOptions = Record<string, OptionValue>;

/**
 * Parses `--flag value`, `--flag=value` and bare boolean flags against a list of specs, filling
 * gaps from the environment (`CIS490_*`) and then from defaults. Every problem is a UsageError
 * whose one-line message names the flag (or variable) at fault.
 */
export function parseOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedOptions {
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const raw = new Map<OptionSpec, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      throw new UsageError('unexpected_argument', `unexpected argument '${arg}' (flags start with --)`, {
        arg,
      });
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byFlag.get(name);
    if (!spec) throw new UsageError('unknown_flag', `unknown flag --${name} (see --help)`, { flag: name });
    if (spec.type === 'boolean') {
      raw.set(spec, eq === -1 ? 'true' : arg.slice(eq + 1));
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) {
      throw new UsageError('missing_value', `flag --${name} needs a value (${spec.arg ?? 'VALUE'})`, {
        flag: name,
      });
    }
    raw.set(spec, value);
  }

  const out: ParsedOptions = {};
  for (const spec of specs) {
    let source = `--${spec.flag}`;
    let text = raw.get(spec);
    if (text === undefined && spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      text = env[spec.env];
      source = spec.env;
    }
    if (text === undefined) {
      const d = typeof spec.default === 'function' ? spec.default() : spec.default;
      out[spec.key] = d;
      continue;
    }
    out[spec.key] = convert(spec, text, source);
  }
  return out;
}

function convert(spec: OptionSpec, text: string, source: string): OptionValue {
  switch (spec.type) {
    case 'string':
    case 'path': {
      if (text === '') throw new UsageError('bad_value', `${source} must not be empty`, { flag: spec.flag });
      if (spec.choices && !spec.choices.includes(text)) {
        throw new UsageError(
          'bad_value',
          `${source} must be one of ${spec.choices.join(', ')}, got '${text}'`,
          {
            flag: spec.flag,
          },
        );
      }
      return text;
    }
    case 'boolean': {
      if (['true', '1', 'yes', ''].includes(text)) return true;
      if (['false', '0', 'no'].includes(text)) return false;
      throw new UsageError('bad_value', `${source} must be true or false, got '${text}'`, {
        flag: spec.flag,
      });
    }
    case 'int-or-all':
      if (text === 'all') return 'all';
      return checkNumber(spec, text, source, true);
    case 'int':
      return checkNumber(spec, text, source, true);
    case 'number':
      return checkNumber(spec, text, source, false);
    default: {
      const _exhaustive: never = spec.type;
      return text;
    }
  }
}

function checkNumber(spec: OptionSpec, text: string, source: string, integer: boolean): number {
  const pattern = integer ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  const n = Number(text);
  const what = integer ? 'a whole number' : 'a number';
  const allowAll = spec.type === 'int-or-all' ? " or 'all'" : '';
  if (!pattern.test(text.trim()) || !Number.isFinite(n)) {
    throw new UsageError('bad_number', `${source} must be ${what}${allowAll}, got '${text}'`, {
      flag: spec.flag,
    });
  }
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    const range =
      spec.max === undefined ? `at least ${spec.min}` : `between ${spec.min ?? '-∞'} and ${spec.max}`;
    throw new UsageError('out_of_range', `${source} must be ${range}, got ${text}`, { flag: spec.flag });
  }
  return n;
}

/** Help text for a command: usage line, description and one line per option. */
export function formatHelp(command: string, summary: string, specs: readonly OptionSpec[]): string {
  const rows = specs.map((s) => {
    const left = `--${s.flag}${s.type === 'boolean' ? '' : ` ${s.arg ?? 'VALUE'}`}`;
    const d = typeof s.default === 'function' ? undefined : s.default;
    const extras = [s.env ? `env ${s.env}` : '', d !== undefined ? `default ${String(d)}` : '']
      .filter(Boolean)
      .join('; ');
    return `  ${left.padEnd(28)} ${s.description}${extras ? ` [${extras}]` : ''}`;
  });
  return `Usage: cis490-dashboard ${command} [flags]\n\n${summary}\n\nFlags:\n${rows.join('\n')}\n  ${'--help'.padEnd(28)} Show this help.\n`;
}
