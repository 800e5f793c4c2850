/**
 * The Hono environment of every route: Node bindings (absent under `app.request()`) and the
 * authenticated session once `requireSession` has run.
 */
import type { HttpBindings } from '@hono/node-server';

/** The authenticated caller. */
export interface Session {
  accountId: string;
  /** SHA-256 of the session token: the only form in which the relay keeps it. */
  tokenHash: Buffer;
  /** Created by a recovery login: may set a new password without the current one. */
  viaRecovery: boolean;
  /** Absolute expiry, ms. */
  expiresAt: number;
}

/** Hono environment type of the relay. */
export interface AppEnv {
  Bindings: Partial<HttpBindings>;
  Variables: { session: Session };
}
