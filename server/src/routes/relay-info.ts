/**
 * The relay's own public signing key (deletion receipts).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** The relay's own public signing key (deletion receipts). */
export function relayInfoRoutes(_relay: Relay): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
