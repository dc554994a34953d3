import { describe, expect, it } from 'vitest';
import { UsageError } from '../util/errors.js';
import { defaultsOf, formatHelp, parseOptions } from './parse.js';
import { COMMAND_OPTIONS, optionViews, SERVER_OPTIONS } from './schema.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseOptions', () => {
  it('fills defaults, then the environment, then flags win', () => {
    const env = { CIS490_PORT: '9000', CIS490_DATA_ROOT: '/from/env', XDG_STATE_HOME: '/xdg' };
    const o = parseOptions(SERVER_OPTIONS, ['--port', '1234'], env);
    expect(o.port).toBe(1234);
    expect(o.dataRoot).toBe('/from/env');
    expect(o.host).toBe('127.0.0.1');
    expect(o.snapshotInterval).toBe(30);
    expect(parseOptions(SERVER_OPTIONS, ['--data-root=/x'], env).dataRoot).toBe('/x');
  });

  it('names the flag in every error', () => {
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['--bogus'], {}))).toMatch(/--bogus/);
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['--port', 'abc'], {}))).toMatch(
      /--port must be a whole number/,
    );
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['--port', '70000'], {}))).toMatch(
      /--port must be between/,
    );
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['--port'], {}))).toMatch(/--port needs a value/);
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, [], { CIS490_PORT: 'x' }))).toMatch(/CIS490_PORT/);
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['--log-level', 'loud'], {}))).toMatch(/one of/);
    expect(usageMessage(() => parseOptions(SERVER_OPTIONS, ['serve'], {}))).toMatch(/unexpected argument/);
  });

  it('accepts N or all for the phase sample', () => {
    expect(parseOptions(SERVER_OPTIONS, ['--phase-sample', 'all'], {}).phaseSample).toBe('all');
    expect(parseOptions(SERVER_OPTIONS, ['--phase-sample', '500'], {}).phaseSample).toBe(500);
  });

  it('lists every flag, its variable and its default in --help, from the schema', () => {
    for (const [name, schema] of Object.entries(COMMAND_OPTIONS)) {
      const help = formatHelp(name, 'Summary.', schema);
      for (const view of optionViews(schema)) {
        const line = help
          .split('\n')
          .find((l) => l.startsWith(`  --${view.flag} `) || l === `  --${view.flag}`);
        expect(line, `${name} --${view.flag}`).toBeDefined();
        if (view.env) expect(line).toContain(`env ${view.env}`);
        if (view.defaultText !== undefined) expect(line).toContain(`default ${view.defaultText}`);
      }
    }
  });

  it('reads every CIS490_* variable the schema declares into its own key', () => {
    const sample = (flag: string): string =>
      (
        ({
          'log-level': 'debug',
          'phase-sample': '7',
          'allowed-origin': 'https://a.example',
          redis: 'redis://127.0.0.1:6390',
          namespace: 'lab2',
          'advertise-url': 'http://rack-1.lab:8491',
        }) as Record<string, string>
      )[flag] ??
      (/interval/.test(flag) ? '3' : /port|buffer|bytes/.test(flag) ? '4096' : `/from-env/${flag}`);
    for (const [name, schema] of Object.entries(COMMAND_OPTIONS)) {
      for (const view of optionViews(schema)) {
        if (!view.env) continue;
        const bool = Reflect.get(view.schema, 'type') === 'boolean';
        const text = bool ? 'true' : sample(view.flag);
        const parsed: Record<string, unknown> = parseOptions(schema, [], { [view.env]: text });
        const argv = bool ? [`--${view.flag}`] : [`--${view.flag}`, text];
        const fromFlag: Record<string, unknown> = parseOptions(schema, argv, {});
        expect(parsed[view.key], `${name} ${view.env}`).toEqual(fromFlag[view.key]);
        expect(parsed[view.key], `${name} ${view.env}`).not.toEqual(
          Reflect.get(defaultsOf(schema), view.key),
        );
      }
    }
  });

  it("takes the defaults from the schema's default keywords", () => {
    const d = defaultsOf(SERVER_OPTIONS);
    for (const view of optionViews(SERVER_OPTIONS)) {
      const declared: unknown = Reflect.get(view.schema, 'default');
      if (declared !== undefined) expect(Reflect.get(d, view.key), view.key).toEqual(declared);
    }
    expect(d.stateDir).toBeUndefined();
    expect(d.port).toBe(8490);
    expect(d.allowedOrigins).toEqual([]);
  });

  it('parses lists and refuses a value for a bare boolean', () => {
    expect(parseOptions(SERVER_OPTIONS, ['--allowed-origin', 'a, b,,c'], {}).allowedOrigins).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(usageMessage(() => parseOptions(COMMAND_OPTIONS['phase-mix'], ['--json=no'], {}))).toMatch(
      /--json/,
    );
  });
});
