/**
 * Support grants: creation, listing, revocation, and the agent's read access within a grant.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** Support grants: creation, listing, revocation, and the agent's read access within a grant. */
export function grantRoutes(_relay: Relay): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
