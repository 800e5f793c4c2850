/**
 * Sliding-window rate limiting in memory. Each key keeps the times of its recent hits; a key
 * is full when `max` hits fall within the last `windowMs`. State does not survive a restart,
 * which is acceptable: a restart costs an attacker more time than it saves them.
 */
import type { WindowLimit } from '../config';
import { ApiError } from './errors';

/** Bound on tracked keys so that a flood of distinct keys cannot exhaust memory. */
const MAX_KEYS = 100_000;

/** A sliding-window limiter over string keys. */
export class SlidingWindow {
  readonly #hits = new Map<string, number[]>();
  readonly #limit: WindowLimit;
  readonly #now: () => number;

  constructor(limit: WindowLimit, now: () => number) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Milliseconds until `key` may try again; 0 if it may now. */
  retryAfterMs(key: string): number {
    const hits = this.#recent(key);
    if (hits.length < this.#limit.max) return 0;
    // The oldest hit inside the window leaves it first.
    return hits[hits.length - this.#limit.max]! + this.#limit.windowMs - this.#now();
  }

  /** Throws `429 RATE_LIMITED` with `Retry-After` if `key` is full. */
  check(key: string): void {
    const wait = this.retryAfterMs(key);
    if (wait > 0) {
      throw new ApiError('RATE_LIMITED', 'too many attempts, try again later', {
        'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))),
      });
    }
  }

  /** Records one hit for `key`. */
  hit(key: string): void {
    const hits = this.#recent(key);
    hits.push(this.#now());
    // Re-insert so that Map order is least-recently-hit first, for eviction.
    this.#hits.delete(key);
    this.#hits.set(key, hits);
    if (this.#hits.size > MAX_KEYS) {
      const oldest = this.#hits.keys().next();
      if (!oldest.done) this.#hits.delete(oldest.value);
    }
  }

  #recent(key: string): number[] {
    const hits = this.#hits.get(key);
    if (!hits) return [];
    const from = this.#now() - this.#limit.windowMs;
    let i = 0;
    while (i < hits.length && hits[i]! <= from) i++;
    if (i > 0) hits.splice(0, i);
    if (hits.length === 0) this.#hits.delete(key);
    return hits;
  }
}
