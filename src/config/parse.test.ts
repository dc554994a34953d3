import { describe, expect, it } from 'vitest';
import { UsageError } from '../util/errors.js';
import { formatHelp, parseOptions } from './parse.js';
import { SERVER_OPTIONS } from './schema.js';

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

  it('lists every flag with its variable in --help', () => {
    const help = formatHelp('serve', 'Serve.', SERVER_OPTIONS);
    for (const spec of SERVER_OPTIONS) {
      expect(help).toContain(`--${spec.flag}`);
      if (spec.env) expect(help).toContain(spec.env);
    }
  });
});
