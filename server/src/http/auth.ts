/**
 * Sessions: random 32-byte tokens, stored as SHA-256, carried as a bearer token (CLI) or an
 * `HttpOnly; Secure; SameSite=Strict` cookie (browser). Idle and absolute timeouts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Relay } from '../relay';
import { unauthenticated } from './errors';
import type { AppEnv } from './types';

/** The session cookie. `__Host-`: Secure, Path=/, no Domain, so no subdomain can set it. */
export const SESSION_COOKIE = '__Host-carnet_session';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** SHA-256 of a byte string or a UTF-8 string. */
export const sha256 = (data: Uint8Array | string): Buffer =>
  createHash('sha256').update(data).digest();

/** The bearer token of the request, if it carries one (well-formed or not). */
export function bearerToken(c: Context): string | undefined {
  const h = c.req.header('authorization');
  if (h === undefined) return undefined;
  const m = /^Bearer (\S+)$/i.exec(h);
  return m ? m[1] : '';
}

/** What a login-like route answers in `session`. */
export interface IssuedSession {
  token: string;
  expiresAt: number;
  idleTimeoutMs: number;
}

/** Creates a session, sets the cookie and returns the token for the body. */
export function issueSession(
  c: Context,
  relay: Relay,
  accountId: string,
  viaRecovery: boolean,
): IssuedSession {
  const token = randomBytes(32).toString('base64url');
  const now = relay.now();
  const expiresAt = now + relay.config.absoluteTimeoutMs;
  relay.sessions.create(sha256(token), accountId, now, expiresAt, viaRecovery);
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: Math.floor(relay.config.absoluteTimeoutMs / 1000),
  });
  return { token, expiresAt, idleTimeoutMs: relay.config.idleTimeoutMs };
}

/** Clears the session cookie in the response. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Strict' });
}

/**
 * Middleware factory: authenticates the request or answers `401 UNAUTHENTICATED`. Refreshes
 * `last_seen_at` at most every `touchMs` (a write per request would serialise all reads
 * behind the WAL lock for no gain in precision that matters).
 */
export function requireSession(relay: Relay): MiddlewareHandler<AppEnv> {
  const touchMs = Math.min(60_000, Math.floor(relay.config.idleTimeoutMs / 10));
  return async (c, next) => {
    const token = bearerToken(c) ?? getCookie(c, SESSION_COOKIE);
    if (token === undefined || !TOKEN_RE.test(token)) throw unauthenticated();
    const hash = sha256(token);
    const row = relay.sessions.get(hash);
    const now = relay.now();
    if (!row) throw unauthenticated();
    if (now >= row.expires_at || now - row.last_seen_at >= relay.config.idleTimeoutMs) {
      relay.sessions.delete(hash);
      throw unauthenticated('session expired');
    }
    if (now - row.last_seen_at >= touchMs) relay.sessions.touch(hash, now);
    c.set('session', {
      accountId: row.account_id,
      tokenHash: hash,
      viaRecovery: row.via_recovery === 1,
      expiresAt: row.expires_at,
    });
    await next();
  };
}

/**
 * The client's address for rate limiting: the socket's peer, or with `trustProxy` the last
 * `X-Forwarded-For` hop (the one the trusted proxy appended).
 */
export function clientAddress(c: Context<AppEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    const hops = c.req.header('x-forwarded-for')?.split(',');
    const last = hops?.at(-1)?.trim();
    if (last) return last;
  }
  return c.env?.incoming?.socket.remoteAddress ?? 'unknown';
}
