/**
 * Response hardening and request-origin checks: security headers on every response, CORS for
 * the app's own origin only, CSRF refusal of cross-site state changes, and a request logger
 * that records no body, no query string, no token and no id.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { routePath } from 'hono/route';
import { SESSION_COOKIE, bearerToken } from './auth';
import { ApiError } from './errors';
import type { AppEnv } from './types';

/**
 * Headers set on every response, API and static alike. `'wasm-unsafe-eval'` allows compiling
 * WebAssembly (Argon2id through hash-wasm, 3-4x faster than pure JS) and nothing else: no eval,
 * no inline script.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

/** Middleware factory: security headers, plus `Cache-Control: no-store` under `/api`. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
    if (c.req.path.startsWith('/api/')) c.res.headers.set('Cache-Control', 'no-store');
  };
}

/**
 * Is `origin` the app's? With configured `origins`, one of them; otherwise the origin the
 * request was addressed to (the relay serves the app itself).
 */
export function isAppOrigin(c: Context, origin: string, origins: readonly string[]): boolean {
  if (origins.length > 0) return origins.includes(origin);
  return origin === new URL(c.req.url).origin;
}

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE';
const ALLOW_HEADERS = 'Content-Type, Authorization, Content-Digest, Range';
const EXPOSE_HEADERS = 'Content-Range, Content-Digest, ETag, Retry-After, Accept-Ranges';

/**
 * Middleware factory: CORS limited to the app's origin(s). Hand-written rather than
 * `hono/cors`, which touches `c.res` before the handler runs and so makes every response be
 * rebuilt (and its body re-streamed) afterwards; this one only adds headers at the end.
 */
export function appCors(origins: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    const allowed = origin !== undefined && isAppOrigin(c, origin, origins);
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      // A preflight: without the allow headers the browser refuses the real request.
      if (!allowed) return c.body(null, 204, { Vary: 'Origin' });
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      });
    }
    await next();
    if (origin === undefined) return;
    c.res.headers.append('Vary', 'Origin');
    if (allowed) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Allow-Credentials', 'true');
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Middleware factory: CSRF protection. A state-changing request without a bearer token must
 * come from the app's origin (`Sec-Fetch-Site: same-origin` or a matching `Origin`); a request
 * carrying the session cookie but neither header is refused too. Bearer requests are exempt:
 * a browser never adds that header on its own.
 */
export function csrfGuard(origins: readonly string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || bearerToken(c) !== undefined) return next();
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    const refuse = (why: string) => new ApiError('FORBIDDEN_ORIGIN', why);
    if (site !== undefined && site !== 'same-origin') throw refuse('cross-site request refused');
    if (origin !== undefined && !isAppOrigin(c, origin, origins)) {
      throw refuse('request from another origin refused');
    }
    if (site === undefined && origin === undefined && getCookie(c, SESSION_COOKIE) !== undefined) {
      throw refuse('cookie-authenticated request without Origin refused');
    }
    return next();
  };
}

/**
 * Middleware factory: one line per request — method, route template (never the raw path,
 * which holds ids), status, duration. Nothing else about the request is ever logged.
 */
export function requestLogger(log: (line: string) => void, now: () => number): MiddlewareHandler {
  return async (c, next) => {
    const start = now();
    await next();
    log(`${c.req.method} ${routePath(c)} ${c.res.status} ${Math.round(now() - start)}ms`);
  };
}
