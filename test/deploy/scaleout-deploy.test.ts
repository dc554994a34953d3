/**
 * The scale-out deploy files are well-formed: the systemd units by `systemd-analyze verify` (any
 * warning fails), the Redis snippet by a real `redis-server` loading it, the nginx upstream by a
 * parse of nginx's syntax (no nginx on the test machines) and the properties the README promises.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from '@redis/client';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis-server.js';
import { tempDir } from '../support/tmp.js';

const deploy = path.join(import.meta.dirname, '..', '..', 'deploy');
const UNITS = ['cis490-agent.service', 'cis490-replica.service'];

/** A unit file's `Key=value` lines per section (repeated keys kept in order). */
function unitKeys(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section?.[1]) {
      current = [];
      sections.set(section[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === null || eq <= 0) throw new Error(`not a unit line: ${line}`);
    current.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

describe('systemd units', () => {
  const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

  it.each(UNITS)('%s passes systemd-analyze verify without a warning', (unit) => {
    if (!hasAnalyze) {
      // The parse below still runs; say plainly what was not checked.
      console.warn('systemd-analyze not on PATH: unit files only parsed');
      return;
    }
    const r = spawnSync('systemd-analyze', ['verify', path.join(deploy, 'systemd', unit)], {
      encoding: 'utf8',
    });
    expect(r.stderr.trim(), r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(UNITS)('%s is sandboxed, restarts and runs the right command', (unit) => {
    const keys = unitKeys(fs.readFileSync(path.join(deploy, 'systemd', unit), 'utf8'));
    const service = new Map(keys.get('Service'));
    expect(keys.get('Install')).toEqual([['WantedBy', 'multi-user.target']]);
    for (const [k, v] of [
      ['DynamicUser', 'yes'],
      ['ProtectSystem', 'strict'],
      ['NoNewPrivileges', 'yes'],
      ['PrivateTmp', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['Restart', 'always'],
    ]) {
      expect(service.get(k as string), `${unit} ${k}`).toBe(v);
    }
    const exec = service.get('ExecStart') ?? '';
    if (unit === 'cis490-agent.service') {
      expect(exec).toMatch(/ agent --data-root \S+ --redis \S+ --receiver \S+ --listen \S+$/);
      // The agent never writes its data root.
      expect(service.get('ReadOnlyPaths')).toBe('/var/lib/cis490');
      // Its row store, served to replicas built after the stream was trimmed.
      expect(service.get('StateDirectory')).toBe('cis490-agent');
    } else {
      expect(exec).toMatch(/ serve --redis \S+$/);
      expect(service.get('StateDirectory')).toBe('cis490-replica');
    }
  });
});

describe('redis.conf snippet', () => {
  it('is loaded by a real redis-server and turns on AOF with fsync on every write', async () => {
    const dir = tempDir('cis490-redis-conf-');
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        path.join(deploy, 'redis', 'cis490-redis.conf'),
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        if (out.includes('Ready to accept connections')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', () => reject(new Error(`redis-server refused the snippet:\n${out}`)));
    });
    const client = createClient({ url: `redis://127.0.0.1:${port}` });
    try {
      await client.connect();
      expect(await client.configGet('appendonly')).toEqual({ appendonly: 'yes' });
      expect(await client.configGet('appendfsync')).toEqual({ appendfsync: 'always' });
      expect(await client.configGet('maxmemory-policy')).toEqual({ 'maxmemory-policy': 'noeviction' });
    } finally {
      await client.quit().catch(() => {});
      child.kill('SIGTERM');
      await exited;
    }
  });
});

// ── nginx: a small parser of its syntax (directives end with `;`, blocks in braces, quotes) ──

interface Directive {
  name: string;
  args: string[];
  block: Directive[] | null;
}

function tokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === '#') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '{' || c === '}' || c === ';') {
      out.push(c);
      i++;
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end === -1) throw new Error(`unterminated quote at ${i}`);
      out.push(text.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};#]/.test(text[j] as string)) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

function parseNginx(text: string): Directive[] {
  const toks = tokens(text);
  let at = 0;
  const block = (nested: boolean): Directive[] => {
    const list: Directive[] = [];
    while (at < toks.length) {
      const name = toks[at++] as string;
      if (name === '}') {
        if (!nested) throw new Error('unbalanced }');
        return list;
      }
      if (name === '{' || name === ';') throw new Error(`unexpected ${name} after ${list.at(-1)?.name}`);
      const args: string[] = [];
      for (;;) {
        const t = toks[at++];
        if (t === undefined) throw new Error(`directive ${name} has no ; or {`);
        if (t === ';') {
          list.push({ name, args, block: null });
          break;
        }
        if (t === '{') {
          list.push({ name, args, block: block(true) });
          break;
        }
        if (t === '}') throw new Error(`directive ${name} has no ;`);
        args.push(t);
      }
    }
    if (nested) throw new Error('unclosed {');
    return list;
  };
  return block(false);
}

const find = (list: Directive[], name: string, arg0?: string): Directive[] =>
  list.filter((d) => d.name === name && (arg0 === undefined || d.args[0] === arg0));

describe('nginx upstream for the replicas', () => {
  it('the parser catches what nginx would refuse', () => {
    expect(() => parseNginx('upstream a { server x:1 }')).toThrow(/no ;/);
    expect(() => parseNginx('server { listen 80;')).toThrow(/unclosed/);
    expect(parseNginx('a b "c d";')).toEqual([{ name: 'a', args: ['b', 'c d'], block: null }]);
  });

  it('spreads viewers over two or more replicas without stickiness and upgrades WebSockets', () => {
    const conf = parseNginx(fs.readFileSync(path.join(deploy, 'nginx-replicas.conf'), 'utf8'));
    const upstream = find(conf, 'upstream', 'cis490_replicas')[0]?.block ?? [];
    expect(find(upstream, 'server').length).toBeGreaterThanOrEqual(2);
    for (const sticky of ['ip_hash', 'hash', 'sticky', 'least_conn'])
      expect(find(upstream, sticky)).toEqual([]);
    const server = find(conf, 'server')[0]?.block ?? [];
    const headers = find(server, 'proxy_set_header').map((d) => d.args.join(' '));
    expect(headers).toContain('Upgrade $http_upgrade');
    expect(headers).toContain('Connection $connection_upgrade');
    expect(find(server, 'proxy_http_version')[0]?.args).toEqual(['1.1']);
    const ws = find(server, 'location', '=').find((d) => d.args[1] === '/ws')?.block ?? [];
    expect(find(ws, 'proxy_pass')[0]?.args).toEqual(['http://cis490_replicas']);
    // The map that makes Connection "upgrade" only for an upgrade request.
    expect(find(conf, 'map', '$http_upgrade')).toHaveLength(1);
  });
});
