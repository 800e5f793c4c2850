/**
 * `GET /relay`: the relay's own public signing key (deletion receipts) and its fingerprint.
 * No session needed: a client pins the key the first time it sees it, before deleting
 * anything, and a user may compare the fingerprint with the one the operator publishes.
 */
import { Hono } from 'hono';
import { b64 } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';

/** Sub-app factory for `/relay`. */
export function relayInfoRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', (c) =>
    c.json({
      signingKey: b64(relay.signing.publicKey),
      fingerprint: relay.signing.fingerprint,
    }),
  );
  return app;
}
