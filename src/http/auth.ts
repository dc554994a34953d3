import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import net from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UsageError } from '../util/errors.js';
import { errorBody } from './errors.js';
import { exceeded } from './security.js';
import { bearerToken, tokenMatches } from './token.js';

/**
 * Read access (`--read-token FILE`) and WebSocket origin checks. Readers present the token as
 * `Authorization: Bearer <token>` (scripts, Prometheus) or as a cookie a browser gets from a
 * one-time `/?token=<token>` login. `/livez` and `/readyz` stay open for orchestrators' probes
 * and reveal nothing but up/ready; `POST /api/phase` and the alert actions answer to the phase
 * token alone.
 */

export const SESSION_COOKIE = 'cis490_session';

/** Browsers keep the login this long; rotating the token file (and restarting) revokes every cookie. */
const SESSION_MAX_AGE_SEC = 30 * 24 * 3600;

/**
 * Wrong credentials are answered 429 past this many per second (@fastify/rate-limit, one window
 * for every client together), so guessing a token over the network is slow.
 */
export const FAILED_TOKENS_PER_SEC = 5;

/**
 * Routes (method + route pattern) that need no read token: the probes, and the writes that answer
 * to the phase token alone — a script has one `Authorization` header, and it carries that token.
 */
const OPEN_ROUTES = new Set([
  'GET /livez',
  'HEAD /livez',
  'GET /readyz',
  'HEAD /readyz',
  'POST /api/phase',
  'POST /api/alerts/actions',
  'DELETE /api/alerts/actions',
]);

export type Verdict = 'ok' | 'missing' | 'wrong';

/**
 * The cookie holds a value derived from the token, not the token itself: a cookie read off a
 * disk or a proxy log is a session, not the secret scripts use in their Authorization header.
 */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('cis490-dashboard read session v1').digest('base64url');
}

/** Every value of cookie `name` in a `Cookie` header (a browser may send several). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** Checks a request's credentials against the read token; every comparison is constant-time. */
export class ReadAuth {
  readonly #token: string;
  readonly #session: string;

  constructor(token: string) {
    this.#token = token;
    this.#session = sessionValue(token);
  }

  /**
   * 'ok' when a bearer token or a session cookie matches; 'wrong' when a bearer token was
   * presented and did not (a guess: rate limited); else 'missing'. A cookie that does not match
   * is a stale session (the token was rotated), not a guess — nobody guesses a 256-bit HMAC — so
   * its browser gets the login page, never a 429 because some other client was guessing.
   */
  check(headers: IncomingHttpHeaders): Verdict {
    const bearer = bearerToken(headers.authorization);
    const cookies = cookieValues(headers.cookie, SESSION_COOKIE);
    if (bearer !== undefined && tokenMatches(bearer, this.#token)) return 'ok';
    // Every cookie is compared (no early exit on the first mismatch): timing says nothing.
    let cookieOk = false;
    for (const value of cookies) cookieOk = tokenMatches(value, this.#session) || cookieOk;
    if (cookieOk) return 'ok';
    return bearer === undefined ? 'missing' : 'wrong';
  }

  tokenMatches(presented: string | undefined): boolean {
    return tokenMatches(presented, this.#token);
  }

  /** The session cookie a successful login sets (through @fastify/cookie). */
  setCookie(reply: FastifyReply, secure: boolean): FastifyReply {
    return reply.setCookie(SESSION_COOKIE, this.#session, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      maxAge: SESSION_MAX_AGE_SEC,
      secure,
    });
  }
}

/**
 * Requires the read token on every route but the open ones. Unauthenticated: the app's page
 * (`/`) answers a login form, a WebSocket upgrade goes through to be closed with 4001 (a browser
 * sees that code; a refused upgrade shows it only a generic failure), everything else a 401 JSON
 * error; all of them `no-store`. Returns whether a WebSocket request passed.
 */
export function registerReadAuth(app: FastifyInstance, auth: ReadAuth): (req: FastifyRequest) => boolean {
  const refusedUpgrades = new WeakSet<FastifyRequest>();
  // Counts wrong tokens only (a right one is never limited): called where a guess is recognised.
  const failures = app.createRateLimit({
    max: FAILED_TOKENS_PER_SEC,
    timeWindow: 1000,
    keyGenerator: () => 'wrong-read-token',
  });
  const tooManyGuesses = async (req: FastifyRequest) => exceeded(await failures(req));

  app.addHook('onRequest', async (req, reply) => {
    // The route the router picked, not the raw URL: no spelling of a path can reach a protected
    // handler through an open name. Unknown paths have no route and need the token too.
    if (OPEN_ROUTES.has(`${req.method} ${req.routeOptions.url ?? ''}`)) return;
    const [pathname = '', search = ''] = splitUrl(req.url);
    const isPage =
      (req.method === 'GET' || req.method === 'HEAD') && (pathname === '/' || pathname === '/index.html');
    const params = new URLSearchParams(search);

    if (isPage && params.has('token')) {
      if (auth.tokenMatches(params.get('token') ?? undefined)) {
        params.delete('token');
        const rest = params.toString();
        auth
          .setCookie(reply, isHttps(req))
          .code(303)
          .header('cache-control', 'no-store')
          .header('location', rest ? `/?${rest}` : '/');
        return reply.send();
      }
      if (await tooManyGuesses(req)) return tooMany(reply);
      req.log.warn({ remote: req.ip }, 'read token login refused');
      return loginPage(reply, params, 'That token was not accepted.');
    }

    const verdict = auth.check(req.headers);
    if (verdict === 'ok') return;
    if (verdict === 'wrong') {
      if (await tooManyGuesses(req)) return tooMany(reply);
      req.log.warn({ remote: req.ip, url: pathname }, 'read token refused');
    }
    if (req.ws) {
      refusedUpgrades.add(req);
      return;
    }
    if (isPage) return loginPage(reply, params, null);
    reply
      .code(401)
      .header('cache-control', 'no-store')
      .header('www-authenticate', 'Bearer realm="cis490-dashboard"');
    return reply.send(
      errorBody(
        'unauthorized',
        'this dashboard needs its read token: Authorization: Bearer <token>, or log in at /?token=<token>',
      ),
    );
  });
  return (req) => !refusedUpgrades.has(req);
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

/** The cookie gets `Secure` when the browser is on https (directly, or through a TLS proxy). */
function isHttps(req: FastifyRequest): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return req.protocol === 'https' || first === 'https';
}

function tooMany(reply: FastifyReply): FastifyReply {
  reply.code(429).header('cache-control', 'no-store').header('retry-after', '1');
  return reply.send(errorBody('rate_limited', 'too many wrong tokens; slow down'));
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A static page: no script (the CSP allows none inline), a form that GETs `/?token=`; other
 * query parameters (`?kiosk`) ride along as hidden fields so the login lands where it was asked.
 */
function loginPage(reply: FastifyReply, params: URLSearchParams, problem: string | null): FastifyReply {
  const hidden = [...params]
    .filter(([k]) => k !== 'token')
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light"><title>CIS490 dashboard: log in</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:15vh auto;padding:0 1rem}input,button{font:inherit;padding:.4rem}input[type=password]{width:100%;box-sizing:border-box;margin:.5rem 0}.problem{color:#c33}</style>
</head><body><h1>CIS490 dashboard</h1>
<p>This dashboard needs its read token (the contents of the file given to <code>--read-token</code>).</p>
${problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : ''}<form method="get" action="/">${hidden}
<label for="token">Read token</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form></body></html>
`;
  reply.code(401).header('cache-control', 'no-store').type('text/html; charset=utf-8');
  return reply.send(html);
}

/** `https://dash.example.org` → itself; anything that is not a bare http(s) origin is a usage error. */
export function normalizeOrigin(text: string): string {
  let url: URL | null = null;
  try {
    url = new URL(text.trim());
  } catch {
    // Reported below like any other bad origin.
  }
  if (
    url === null ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== '' ||
    /\/./.test(text.trim().replace(/^[a-z]+:\/\//i, ''))
  ) {
    throw new UsageError(
      'bad_origin',
      `--allowed-origin: '${text}' is not an origin like https://dash.example.org (scheme, host, optional port)`,
      { origin: text },
    );
  }
  return url.origin;
}

/** `--allowed-origin a,b` (or `CIS490_ALLOWED_ORIGINS`) → the list, empty entries dropped. */
export function parseOriginList(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map(normalizeOrigin);
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * WsHub's `checkOrigin`: no Origin (not a browser) or one naming the host:port the request was
 * sent to (the Host header) is allowed, as is any origin in `allowed` (a reverse proxy serving
 * the app from another origin). Anything else — another site's page — gets a 403.
 */
export type OriginCheck = (origin: string | undefined, req: IncomingMessage) => boolean;

export function originCheck(allowed: readonly string[]): OriginCheck {
  const set = new Set(allowed.map(normalizeOrigin));
  return (origin, req) => {
    if (origin === undefined) return true;
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false; // 'null' (sandboxed frames, file://) and garbage.
    }
    if (set.has(o.origin)) return true;
    const host = req.headers.host;
    if (!host || (o.protocol !== 'http:' && o.protocol !== 'https:')) return false;
    let h: URL;
    try {
      h = new URL(`${o.protocol}//${host}`);
    } catch {
      return false;
    }
    const port = (u: URL) => u.port || DEFAULT_PORT[u.protocol] || '';
    return h.hostname === o.hostname && port(h) === port(o) && h.username === '' && h.pathname === '/';
  };
}

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form) and `localhost`: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) {
    // The URL parser writes IPv6 canonically: 0:0:0:0:0:0:0:1 → ::1, ::ffff:127.0.0.1 → ::ffff:7f00:1.
    const canonical = new URL(`http://[${h}]/`).hostname.replace(/^\[|\]$/g, '');
    return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
  }
  return false;
}
