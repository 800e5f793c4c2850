/**
 * Staged imports made under import grants: review and removal by the practitioner.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** Staged imports made under import grants: review and removal by the practitioner. */
export function importRoutes(_relay: Relay): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
