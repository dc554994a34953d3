import { parseArgs } from 'node:util';
import type { Static, TObject, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { errnoCode, UsageError } from '../util/errors.js';
import { COMPUTED_DEFAULTS, type OptionView, optionViews } from './schema.js';

/** How a flag's text becomes a value, read off its schema. */
type Kind =
  | { kind: 'string' }
  | { kind: 'boolean' }
  | { kind: 'list' }
  | { kind: 'number'; integer: boolean; orAll: boolean; min?: number; max?: number }
  | { kind: 'choice'; choices: string[] };

const num = (s: TSchema, key: string): number | undefined => {
  const v: unknown = Reflect.get(s, key);
  return typeof v === 'number' ? v : undefined;
};

function kindOf(schema: TSchema): Kind {
  const type: unknown = Reflect.get(schema, 'type');
  const anyOf: unknown = Reflect.get(schema, 'anyOf');
  if (Array.isArray(anyOf)) {
    const members: TSchema[] = anyOf;
    const consts = members.map((m) => Reflect.get(m, 'const')).filter((c) => typeof c === 'string');
    const numeric = members.find((m) => ['integer', 'number'].includes(String(Reflect.get(m, 'type'))));
    if (numeric) {
      const min = num(numeric, 'minimum');
      const max = num(numeric, 'maximum');
      return {
        kind: 'number',
        integer: Reflect.get(numeric, 'type') === 'integer',
        orAll: consts.includes('all'),
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
      };
    }
    return { kind: 'choice', choices: consts };
  }
  if (type === 'boolean') return { kind: 'boolean' };
  if (type === 'array') return { kind: 'list' };
  if (type === 'integer' || type === 'number') {
    const min = num(schema, 'minimum');
    const max = num(schema, 'maximum');
    return {
      kind: 'number',
      integer: type === 'integer',
      orAll: false,
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
    };
  }
  return { kind: 'string' };
}

/**
 * `--flag value` → `--flag=value` for flags that take one, so a value that starts with a dash
 * (`--port -1`) is the flag's value, to be judged by its range, not an unknown option.
 */
function joinValues(argv: readonly string[], views: readonly OptionView[]): string[] {
  const takesValue = new Set(
    views.filter((v) => kindOf(v.schema).kind !== 'boolean').map((v) => `--${v.flag}`),
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (takesValue.has(arg) && next !== undefined) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** What a parse error of `node:util` parseArgs means, as one line naming the flag. */
function argvError(err: unknown, views: readonly OptionView[]): UsageError {
  const code = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return new UsageError('unexpected_argument', `unexpected argument '${arg}' (flags start with --)`, {
      arg,
    });
  }
  const flag = /'--?([^' =]+)/.exec(message)?.[1] ?? '';
  const view = views.find((v) => v.flag === flag);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || !view) {
    return new UsageError('unknown_flag', `unknown flag --${flag} (see --help)`, { flag });
  }
  if (kindOf(view.schema).kind === 'boolean') {
    return new UsageError('bad_value', `flag --${flag} takes no value`, { flag });
  }
  return new UsageError('missing_value', `flag --${flag} needs a value (${view.arg ?? 'VALUE'})`, { flag });
}

/**
 * Parses argv (`--flag value`, `--flag=value`, bare boolean flags; `node:util` parseArgs) against
 * a command's schema, filling gaps from the environment (`CIS490_*`) and then from the schema's
 * defaults; the result is checked against the schema, so its type is the schema's own. Every
 * problem is a UsageError whose one-line message names the flag (or variable) at fault.
 */
export function parseOptions<T extends TObject>(
  schema: T,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Static<T> {
  const views = optionViews(schema);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: joinValues(argv, views),
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        views.map((v) => [v.flag, { type: kindOf(v.schema).kind === 'boolean' ? 'boolean' : 'string' }]),
      ),
    }).values;
  } catch (err) {
    throw argvError(err, views);
  }
  const out: Record<string, unknown> = {};
  for (const view of views) {
    let source = `--${view.flag}`;
    let text = values[view.flag];
    const fromEnv = view.env === undefined ? undefined : env[view.env];
    if (text === undefined && view.env !== undefined && fromEnv !== undefined && fromEnv !== '') {
      text = fromEnv;
      source = view.env;
    }
    if (text === undefined) {
      const computed: unknown = Reflect.get(view.schema, 'x-computed-default');
      if (computed === 'stateDir') out[view.key] = COMPUTED_DEFAULTS.stateDir();
      continue;
    }
    out[view.key] = typeof text === 'boolean' ? text : convert(view, text, source);
  }
  const filled = Value.Default(schema, out);
  if (!Value.Check(schema, filled)) {
    // convert() checked every value against its schema; this is a schema without a default.
    const first = Value.Errors(schema, filled)[0];
    throw new UsageError(
      'bad_config',
      `bad configuration: ${first?.instancePath ?? ''} ${first?.message ?? ''}`,
    );
  }
  return filled;
}

function convert(view: OptionView, text: string, source: string): unknown {
  const k = kindOf(view.schema);
  const flag = view.flag;
  switch (k.kind) {
    case 'string': {
      if (text === '') throw new UsageError('bad_value', `${source} must not be empty`, { flag });
      // Said with the flag and in words (the schema's shape), not as a JSON pointer and a pattern.
      const pattern: unknown = Reflect.get(view.schema, 'pattern');
      if (typeof pattern === 'string' && !new RegExp(pattern).test(text)) {
        const shape: unknown = Reflect.get(view.schema, 'x-shape');
        throw new UsageError(
          'bad_value',
          `${source} must be ${typeof shape === 'string' ? shape : `of the form ${pattern}`}, got '${text}'`,
          { flag },
        );
      }
      return text;
    }
    case 'choice':
      if (!k.choices.includes(text)) {
        throw new UsageError('bad_value', `${source} must be one of ${k.choices.join(', ')}, got '${text}'`, {
          flag,
        });
      }
      return text;
    case 'boolean':
      if (['true', '1', 'yes', ''].includes(text)) return true;
      if (['false', '0', 'no'].includes(text)) return false;
      throw new UsageError('bad_value', `${source} must be true or false, got '${text}'`, { flag });
    case 'list':
      return text.split(/[\s,]+/).filter((s) => s !== '');
    case 'number':
      if (k.orAll && text === 'all') return 'all';
      return checkNumber(k, text, source, flag);
    default: {
      const _exhaustive: never = k;
      return _exhaustive;
    }
  }
}

function checkNumber(
  k: Extract<Kind, { kind: 'number' }>,
  text: string,
  source: string,
  flag: string,
): number {
  const pattern = k.integer ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  const n = Number(text);
  if (!pattern.test(text.trim()) || !Number.isFinite(n)) {
    const what = k.integer ? 'a whole number' : 'a number';
    throw new UsageError(
      'bad_number',
      `${source} must be ${what}${k.orAll ? " or 'all'" : ''}, got '${text}'`,
      {
        flag,
      },
    );
  }
  if ((k.min !== undefined && n < k.min) || (k.max !== undefined && n > k.max)) {
    const range = k.max === undefined ? `at least ${k.min}` : `between ${k.min ?? '-∞'} and ${k.max}`;
    throw new UsageError('out_of_range', `${source} must be ${range}, got ${text}`, { flag });
  }
  return n;
}

/** The schema's defaults (and computed ones, like the state dir), no flags or environment read. */
export function defaultsOf<T extends TObject>(schema: T): Static<T> {
  return parseOptions(schema, [], {});
}

/** The description, plus what the schema allows where the text does not say it. */
function describe(view: OptionView): string {
  const k = kindOf(view.schema);
  if (k.kind === 'choice') return `${view.description} One of: ${k.choices.join(', ')}.`;
  if (k.kind === 'number' && k.min !== undefined && k.max !== undefined) {
    return `${view.description} Range ${k.min}–${k.max}.`;
  }
  return view.description;
}

/** Help text for a command: usage line, description and one line per option, from its schema. */
export function formatHelp(command: string, summary: string, schema: TObject): string {
  const rows = optionViews(schema).map((v) => {
    const left = `--${v.flag}${kindOf(v.schema).kind === 'boolean' ? '' : ` ${v.arg ?? 'VALUE'}`}`;
    const extras = [
      v.env ? `env ${v.env}` : '',
      v.defaultText !== undefined ? `default ${v.defaultText}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${left.padEnd(28)} ${describe(v)}${extras ? ` [${extras}]` : ''}`;
  });
  return `Usage: cis490-dashboard ${command} [flags]\n\n${summary}\n\nFlags:\n${rows.join('\n')}\n  ${'--help'.padEnd(28)} Show this help.\n`;
}

/** The README's flag table for a command: one row per option, generated from its schema. */
export function markdownTable(schema: TObject): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = optionViews(schema).map((v) => {
    const flag = `\`--${v.flag}${kindOf(v.schema).kind === 'boolean' ? '' : ` ${v.arg ?? 'VALUE'}`}\``;
    const env = v.env ? `\`${v.env}\`` : '—';
    const dflt = v.defaultText !== undefined ? `\`${v.defaultText}\`` : '—';
    return `| ${cell(flag)} | ${env} | ${cell(dflt)} | ${cell(describe(v))} |`;
  });
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
