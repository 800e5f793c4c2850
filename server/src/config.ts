/**
 * Relay settings: every knob with its default, resolved once when the app is created.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MINUTE = 60_000;

/** Limits of one sliding-window rate limiter. */
export interface WindowLimit {
  /** Attempts allowed per window. */
  max: number;
  /** Window length in milliseconds. */
  windowMs: number;
}

/** Everything tunable. All fields have defaults (see {@link resolveConfig}). */
export interface RelayConfig {
  /**
   * Origins allowed for CORS and for cookie-authenticated state changes. Empty: only the
   * origin the request was addressed to (the app served by this relay).
   */
  origins: string[];
  /** Maximum JSON body, bytes. */
  jsonBodyLimit: number;
  /** Maximum size of one blob, bytes. */
  maxBlobBytes: number;
  /** Blob bytes an account may store. */
  quotaBytes: number;
  /** Session idle timeout, ms. */
  idleTimeoutMs: number;
  /** Session absolute lifetime, ms. */
  absoluteTimeoutMs: number;
  /** Failed logins (and recoveries) per user name. */
  loginPerUser: WindowLimit;
  /** Failed logins (and recoveries) per client address. */
  loginPerAddress: WindowLimit;
  /** Pre-logins and registrations per client address. */
  anonymousPerAddress: WindowLimit;
  /** Parameters returned, with a fake salt, for unknown user names. */
  fakeKdf: { memoryKiB: number; iterations: number; parallelism: number };
  /** Unattached blobs older than this are deleted, ms. */
  unattachedBlobTtlMs: number;
  /** Longest invite lifetime, ms. */
  maxInviteTtlMs: number;
  /** Use the last `X-Forwarded-For` hop as the client address (behind a reverse proxy). */
  trustProxy: boolean;
  /** Directory of the built web app; `null` to serve only the fallback page. */
  webDir: string | null;
}

/** Defaults; documented in docs/api.md. */
export const DEFAULT_CONFIG: RelayConfig = {
  origins: [],
  jsonBodyLimit: 1 * MiB,
  maxBlobBytes: 2 * GiB,
  quotaBytes: 10 * GiB,
  idleTimeoutMs: 30 * MINUTE,
  absoluteTimeoutMs: 12 * 60 * MINUTE,
  loginPerUser: { max: 10, windowMs: 15 * MINUTE },
  loginPerAddress: { max: 50, windowMs: 15 * MINUTE },
  anonymousPerAddress: { max: 1000, windowMs: 15 * MINUTE },
  fakeKdf: { memoryKiB: 65536, iterations: 3, parallelism: 1 },
  unattachedBlobTtlMs: 24 * 60 * MINUTE,
  maxInviteTtlMs: 30 * 24 * 60 * MINUTE,
  trustProxy: false,
  webDir: null,
};

/** Fills in defaults. */
export function resolveConfig(partial: Partial<RelayConfig> = {}): RelayConfig {
  const c = { ...DEFAULT_CONFIG, ...partial };
  if (c.absoluteTimeoutMs < c.idleTimeoutMs) {
    throw new Error('absoluteTimeoutMs must be at least idleTimeoutMs');
  }
  return c;
}
