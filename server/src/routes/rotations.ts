/**
 * Batch folder rotation (new epochs) in one transaction, used when support grants end.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** Batch folder rotation (new epochs) in one transaction, used when support grants end. */
export function rotationRoutes(_relay: Relay): Hono<AppEnv> {
  return new Hono<AppEnv>();
}
