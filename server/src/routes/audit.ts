/**
 * The audit trail: per-folder and per-account hash chains, client-signed events.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** The audit trail: per-folder and per-account hash chains, client-signed events. */
export function auditRoutes(_relay: Relay): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
