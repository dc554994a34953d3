import fs from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import WebSocket from 'ws';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { serverConfigFrom } from '../cli/commands/serve.js';
import { parseOptions } from '../config/parse.js';
import { SERVER_OPTIONS } from '../config/schema.js';
import { CLOSE_UNAUTHORIZED, type ServerMessage } from '../protocol/index.js';
import { type ServerConfig, startServer } from '../server.js';
import { createLogger } from '../util/log.js';
import {
  cookieValues,
  isLoopbackHost,
  normalizeOrigin,
  originCheck,
  parseOriginList,
  ReadAuth,
  SESSION_COOKIE,
  sessionValue,
} from './auth.js';
import { tokenMatches } from './token.js';

// Pass-through spy: the server under test uses the real comparison, and the tests can see that
// every credential went through it.
vi.mock('./token.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('./token.js')>();
  return { ...real, tokenMatches: vi.fn(real.tokenMatches) };
});

const TOKEN = 'read-token-0123456789abcdef';
const SECRET = 'the-secret-outside-the-web-dir';

/** A data root, a token file, a built web app and, beside it, a file that must never be served. */
function fixture() {
  const base = tempDir('cis490-auth-');
  const dataRoot = path.join(base, 'data');
  const webDir = path.join(base, 'web');
  fs.mkdirSync(dataRoot);
  fs.mkdirSync(path.join(webDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>app</title><p>THE APP</p>');
  fs.writeFileSync(path.join(webDir, 'assets', 'app.js'), 'console.log("app")');
  fs.writeFileSync(path.join(webDir, '.env'), SECRET);
  fs.writeFileSync(path.join(base, 'secret.txt'), SECRET);
  const tokenFile = path.join(base, 'read-token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const phaseTokenFile = path.join(base, 'phase-token');
  fs.writeFileSync(phaseTokenFile, 'phase-token-abcdefgh\n', { mode: 0o600 });
  return { base, dataRoot, webDir, tokenFile, phaseTokenFile };
}

async function guardedServer(extra: Partial<ServerConfig> = {}) {
  const f = fixture();
  const server = await testServer({
    dataRoot: f.dataRoot,
    webDir: f.webDir,
    readTokenFile: f.tokenFile,
    ...extra,
  });
  return { ...f, server };
}

/** A raw request: the path goes on the wire exactly as written (fetch would normalise `..`). */
function rawGet(
  url: string,
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: pathname, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

type WsOutcome =
  | { kind: 'message'; message: ServerMessage }
  | { kind: 'closed'; code: number }
  | { kind: 'refused'; status: number };

/** Opens a WebSocket and reports what happened first: a message, a close, or a refused upgrade. */
function wsFirst(url: string, options: WebSocket.ClientOptions = {}): Promise<WsOutcome> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, options);
  onTestFinished(() => ws.terminate());
  return new Promise((resolve) => {
    ws.once('message', (data) =>
      resolve({ kind: 'message', message: JSON.parse(String(data)) as ServerMessage }),
    );
    ws.once('close', (code) => resolve({ kind: 'closed', code }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      resolve({ kind: 'refused', status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.on('error', () => {});
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

function expectSecurityHeaders(res: { headers: Headers | http.IncomingHttpHeaders }, what: string): void {
  const get = (k: string) =>
    res.headers instanceof Headers ? res.headers.get(k) : (res.headers[k] as string | undefined);
  expect(get('content-security-policy'), what).toMatch(/script-src 'self'/);
  expect(get('content-security-policy'), what).not.toMatch(/script-src[^;]*unsafe-inline/);
  expect(get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
  expect(get('x-content-type-options'), what).toBe('nosniff');
  expect(get('referrer-policy'), what).toBe('no-referrer');
  expect(get('x-frame-options'), what).toBe('DENY');
}

describe('--read-token', () => {
  it('refuses the API, /metrics, the app and unknown paths without it; /livez and /readyz stay open', async () => {
    const { server } = await guardedServer();
    for (const p of [
      '/api/state',
      '/api/hosts',
      '/api/episodes',
      '/api/phase-mix',
      '/metrics',
      '/assets/app.js',
      '/no-such',
    ]) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('www-authenticate'), p).toMatch(/^Bearer/);
      expect(res.headers.get('cache-control'), p).toBe('no-store');
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code, p).toBe('unauthorized');
    }
    const livez = await fetch(`${server.url}/livez`);
    expect(livez.status).toBe(200);
    await server.pipeline.whenReady();
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(200);
    // Up and ready, nothing about the lab.
    expect(Object.keys((await readyz.json()) as object).sort()).toEqual(['bootstrap_seconds', 'ready']);
  });

  it('serves the API, /metrics and the app to a bearer token, and refuses a wrong one', async () => {
    const { server } = await guardedServer();
    for (const p of ['/api/state', '/api/hosts', '/metrics', '/', '/assets/app.js']) {
      const res = await fetch(`${server.url}${p}`, { headers: bearer });
      expect(res.status, p).toBe(200);
    }
    expect(await (await fetch(`${server.url}/`, { headers: bearer })).text()).toContain('THE APP');
    const wrong = await fetch(`${server.url}/api/state`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
  });

  it('logs a browser in once with /?token=, by a cookie, and drops the token from the URL', async () => {
    const { server } = await guardedServer();
    const page = await fetch(`${server.url}/?kiosk`);
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<form method="get" action="\/">/);
    expect(html).toContain('name="token"');
    expect(html).toContain('<input type="hidden" name="kiosk" value="">');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('THE APP');

    const login = await fetch(`${server.url}/?kiosk&token=${encodeURIComponent(TOKEN)}`, {
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/?kiosk=');
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toMatch(/Secure/); // plain http here; behind a TLS proxy it is Secure

    const cookie = setCookie.split(';')[0] as string;
    const app = await fetch(`${server.url}/`, { headers: { cookie } });
    expect(app.status).toBe(200);
    expect(await app.text()).toContain('THE APP');
    expect((await fetch(`${server.url}/api/state`, { headers: { cookie } })).status).toBe(200);
    expect(
      (await fetch(`${server.url}/api/state`, { headers: { cookie: `${SESSION_COOKIE}=forged` } })).status,
    ).toBe(401);

    const behindTls = await fetch(`${server.url}/?token=${encodeURIComponent(TOKEN)}`, {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(behindTls.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('answers a wrong login with the login page, and slows down a guesser with 429', async () => {
    const { server } = await guardedServer();
    const wrong = await fetch(`${server.url}/?token=nope-nope-nope`, { redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That token was not accepted.');
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      statuses.push(
        (await fetch(`${server.url}/api/state`, { headers: { authorization: `Bearer guess-${i}` } })).status,
      );
    }
    expect(statuses).toContain(429);
    // The right token is never rate limited.
    expect((await fetch(`${server.url}/api/state`, { headers: bearer })).status).toBe(200);
    // A browser with a stale session (the token was rotated) still gets the login page.
    const stale = await fetch(`${server.url}/`, { headers: { cookie: `${SESSION_COOKIE}=stale` } });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toContain('name="token"');
  });

  it('closes a WebSocket without the token with 4001, and says hello with the cookie or the bearer', async () => {
    const { server } = await guardedServer();
    expect(await wsFirst(server.url)).toEqual({ kind: 'closed', code: CLOSE_UNAUTHORIZED });
    expect(await wsFirst(server.url, { headers: { authorization: 'Bearer wrong-wrong' } })).toEqual({
      kind: 'closed',
      code: CLOSE_UNAUTHORIZED,
    });
    const withBearer = await wsFirst(server.url, { headers: bearer });
    expect(withBearer.kind === 'message' && withBearer.message.type).toBe('hello');
    const cookie = `${SESSION_COOKIE}=${sessionValue(TOKEN)}`;
    const withCookie = await wsFirst(server.url, { headers: { cookie }, origin: server.url });
    expect(withCookie.kind === 'message' && withCookie.message.type).toBe('hello');
  });

  it('lets the orchestrator post phases, and a script act on alerts, with the phase token alone', async () => {
    const f = fixture();
    const server = await testServer({
      dataRoot: f.dataRoot,
      webDir: f.webDir,
      readTokenFile: f.tokenFile,
      phaseTokenFile: f.phaseTokenFile,
    });
    const post = (authorization: string) =>
      fetch(`${server.url}/api/phase`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ host_id: 'host-01', phase: 'boot' }),
      });
    expect((await post('Bearer phase-token-abcdefgh')).status).toBe(202);
    // The read token is not a phase token.
    expect((await post(`Bearer ${TOKEN}`)).status).toBe(401);
    // Acknowledging and taking it back from a script: the phase token alone, as for phases.
    const act = (method: string, authorization: string) =>
      fetch(`${server.url}/api/alerts/actions${method === 'DELETE' ? '?dedup_key=disk-full' : ''}`, {
        method,
        headers: { authorization, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        ...(method === 'POST'
          ? { body: JSON.stringify({ dedup_key: 'disk-full', kind: 'acknowledge', by: 'ops-script' }) }
          : {}),
      });
    expect((await act('POST', `Bearer ${TOKEN}`)).status).toBe(401);
    expect((await act('POST', 'Bearer phase-token-abcdefgh')).status).toBe(201);
    expect((await act('DELETE', 'Bearer phase-token-abcdefgh')).status).toBe(200);
    // Nor are they open without any token.
    expect((await act('POST', '')).status).toBe(401);
  });

  it('compares every presented credential in constant time', async () => {
    const spy = vi.mocked(tokenMatches);
    spy.mockClear();
    const auth = new ReadAuth(TOKEN);
    expect(auth.check({ authorization: `Bearer ${TOKEN}` })).toBe('ok');
    expect(auth.check({ cookie: `a=b; ${SESSION_COOKIE}=x; ${SESSION_COOKIE}=${sessionValue(TOKEN)}` })).toBe(
      'ok',
    );
    expect(auth.check({ cookie: `${SESSION_COOKIE}=x` })).toBe('missing');
    expect(auth.check({ authorization: 'Bearer guess-guess' })).toBe('wrong');
    expect(auth.check({})).toBe('missing');
    const compared = spy.mock.calls.map((c) => c[0]);
    expect(compared).toEqual([TOKEN, 'x', sessionValue(TOKEN), 'x', 'guess-guess']);
    // Hashing first: presented tokens of any length compare without throwing (timingSafeEqual would).
    expect(tokenMatches('a', TOKEN)).toBe(false);
    expect(tokenMatches(`${TOKEN}${'z'.repeat(1000)}`, TOKEN)).toBe(false);
    expect(cookieValues(`x=1; ${SESSION_COOKIE}=v1;${SESSION_COOKIE}=v2`, SESSION_COOKIE)).toEqual([
      'v1',
      'v2',
    ]);
  });
});

describe('WebSocket Origin', () => {
  it('refuses another site’s page with 403, allows the same host:port and non-browser clients', async () => {
    const f = fixture();
    const server = await testServer({ dataRoot: f.dataRoot });
    expect(await wsFirst(server.url, { origin: 'http://evil.example' })).toEqual({
      kind: 'refused',
      status: 403,
    });
    // Same host, other port: another origin.
    expect(await wsFirst(server.url, { origin: `http://127.0.0.1:${server.port + 1}` })).toEqual({
      kind: 'refused',
      status: 403,
    });
    expect(await wsFirst(server.url, { origin: 'null' })).toEqual({ kind: 'refused', status: 403 });
    const same = await wsFirst(server.url, { origin: server.url });
    expect(same.kind === 'message' && same.message.type).toBe('hello');
    const noOrigin = await wsFirst(server.url);
    expect(noOrigin.kind === 'message' && noOrigin.message.type).toBe('hello');
  });

  it('allows the origins given with --allowed-origin', async () => {
    const f = fixture();
    const server = await testServer({ dataRoot: f.dataRoot, allowedOrigins: ['https://dash.example.org'] });
    const proxied = await wsFirst(server.url, { origin: 'https://dash.example.org' });
    expect(proxied.kind === 'message' && proxied.message.type).toBe('hello');
    expect(await wsFirst(server.url, { origin: 'https://dash.example.org.evil.example' })).toEqual({
      kind: 'refused',
      status: 403,
    });
    await expect(
      testServer({ dataRoot: f.dataRoot, allowedOrigins: ['https://dash.example.org/app'] }),
    ).rejects.toMatchObject({ code: 'bad_origin' });
  });

  it('takes --allowed-origin as a comma list, or CIS490_ALLOWED_ORIGINS, and refuses a URL with a path', () => {
    const fromFlag = serverConfigFrom(
      parseOptions(SERVER_OPTIONS, ['--allowed-origin', 'https://a.example,https://b.example:8443'], {}),
    );
    expect(fromFlag.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    const fromEnv = serverConfigFrom(
      parseOptions(SERVER_OPTIONS, [], { CIS490_ALLOWED_ORIGINS: 'https://c.example' }),
    );
    expect(fromEnv.allowedOrigins).toEqual(['https://c.example']);
    expect(serverConfigFrom(parseOptions(SERVER_OPTIONS, [], {})).allowedOrigins).toEqual([]);
    expect(() =>
      serverConfigFrom(parseOptions(SERVER_OPTIONS, ['--allowed-origin', 'https://a.example/app'], {})),
    ).toThrow(/--allowed-origin: 'https:\/\/a.example\/app' is not an origin/);
  });

  it('parses and checks origins', () => {
    expect(parseOriginList('https://a.example, http://b.example:8080/')).toEqual([
      'https://a.example',
      'http://b.example:8080',
    ]);
    expect(parseOriginList(undefined)).toEqual([]);
    for (const bad of [
      'a.example',
      'ftp://a.example',
      'https://a.example/x',
      'https://u@a.example',
      'https://a.example?x',
    ]) {
      expect(() => normalizeOrigin(bad), bad).toThrow(/not an origin/);
    }
    const check = originCheck([]);
    const req = (host: string) => ({ headers: { host } }) as IncomingMessage;
    expect(check('http://dash.lab', req('dash.lab'))).toBe(true);
    expect(check('http://dash.lab:80', req('dash.lab'))).toBe(true);
    expect(check('https://dash.lab', req('dash.lab:443'))).toBe(true);
    expect(check('https://dash.lab', req('dash.lab:8443'))).toBe(false);
    expect(check('http://[::1]:8490', req('[::1]:8490'))).toBe(true);
    expect(check('http://other.lab', req('dash.lab'))).toBe(false);
    expect(check('http://dash.lab', { headers: {} } as IncomingMessage)).toBe(false);
  });
});

describe('responses', () => {
  it('carry the security headers on every kind of response', async () => {
    const { server } = await guardedServer();
    const cases: Array<[string, string, Record<string, string>, number]> = [
      ['api', '/api/state', bearer, 200],
      ['metrics', '/metrics', bearer, 200],
      ['app', '/', bearer, 200],
      ['static asset', '/assets/app.js', bearer, 200],
      ['404', '/no-such-thing', bearer, 404],
      ['static 404', '/assets/missing.js', bearer, 404],
      ['400', '/api/state?bogus=1', bearer, 400],
      ['401', '/api/state', {}, 401],
      ['login page', '/', {}, 401],
      ['login redirect', `/?token=${TOKEN}`, {}, 303],
      ['livez', '/livez', {}, 200],
    ];
    for (const [what, p, headers, status] of cases) {
      const res = await fetch(`${server.url}${p}`, { headers, redirect: 'manual' });
      expect(res.status, what).toBe(status);
      expectSecurityHeaders(res, what);
      await res.arrayBuffer();
    }
  });

  it('answer a failing route with a bare internal error: no stack, no path', async () => {
    const f = fixture();
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const server = await startServer(
      { dataRoot: f.dataRoot, stateDir: path.join(f.base, 'state'), port: 0, webDir: f.webDir },
      {
        logger,
        routes: [
          (app) =>
            app.get('/api/boom', async () => {
              throw new Error(`ENOENT: no such file, open '${f.dataRoot}/episodes/x.tar.zst'`);
            }),
        ],
      },
    );
    onTestFinished(() => server.close());
    const res = await fetch(`${server.url}/api/boom`);
    expect(res.status).toBe(500);
    expectSecurityHeaders(res, '500');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(text).not.toContain(f.base);
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    // The operator still gets the whole story in the log.
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: { stack?: string } });
    expect(logged.find((l) => l.msg === 'request failed')?.err?.stack).toContain('ENOENT');
  });

  it('serve nothing outside the web dir: traversal spellings, dotfiles and folders are 404', async () => {
    const f = fixture();
    const server = await testServer({ dataRoot: f.dataRoot, webDir: f.webDir });
    const attempts = [
      '/../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/%252e%252e%252fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/..%c0%afsecret.txt',
      '/assets/app.js%00.html',
      '/assets/../../secret.txt',
      '/.env',
      '/assets/',
      '/assets',
    ];
    for (const p of attempts) {
      const res = await rawGet(server.url, p);
      // An overlong UTF-8 escape is not a path at all: a malformed URL (400).
      expect(res.status, p).toBe(p.includes('%c0') ? 400 : 404);
      expect(res.body, p).not.toContain(SECRET);
      expect(res.body, p).not.toContain('app.js'); // no directory listing
      expect(res.body, p).not.toContain(f.base);
      expectSecurityHeaders(res, p);
    }
    expect((await rawGet(server.url, '/assets/app.js')).status).toBe(200);
  });
});

describe('listening beyond loopback', () => {
  async function startLogged(extra: (f: ReturnType<typeof fixture>) => Partial<ServerConfig>) {
    const f = fixture();
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (s: string) => void lines.push(s) } });
    const server = await startServer(
      { dataRoot: f.dataRoot, stateDir: path.join(f.base, 'state'), port: 0, webDir: f.webDir, ...extra(f) },
      { logger },
    );
    onTestFinished(() => server.close());
    return lines.map((l) => JSON.parse(l) as { level: number; msg: string; host?: string });
  }

  it('warns, naming the risk, without --read-token, and not with it', async () => {
    const open = await startLogged(() => ({ host: '0.0.0.0' }));
    const warning = open.find((l) => l.msg.includes('--read-token'));
    expect(warning).toMatchObject({ level: 40, host: '0.0.0.0' });
    expect(warning?.msg).toMatch(/anyone who can reach this port can read/);

    const guarded = await startLogged((f) => ({ host: '0.0.0.0', readTokenFile: f.tokenFile }));
    expect(guarded.find((l) => l.msg.includes('--read-token'))).toBeUndefined();
    const local = await startLogged(() => ({ host: '127.0.0.1' }));
    expect(local.find((l) => l.msg.includes('--read-token'))).toBeUndefined();
  });

  it('knows loopback addresses in every spelling', () => {
    for (const h of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '::ffff:10.0.0.1', 'dash.lab', 'fe80::1']) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});
