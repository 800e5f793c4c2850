/**
 * The key-bundle directory: public part of an account by user name or by id. Clients verify
 * the bundle's signature and pin its fingerprint; the relay only stores and serves it.
 */
import { Hono } from 'hono';
import { requireSession } from '../http/auth';
import { badRequest, notFound } from '../http/errors';
import { b64, pathId, USER_NAME_RE } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import type { PublicAccount } from '../store/accounts';

const entry = (a: PublicAccount) => ({
  accountId: a.account_id,
  userName: a.user_name,
  role: a.role,
  keyBundle: b64(a.key_bundle),
});

/** Sub-app factory for `/directory`. */
export function directoryRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requireSession(relay));

  app.get('/by-name/:userName', (c) => {
    const name = c.req.param('userName');
    if (!USER_NAME_RE.test(name)) throw badRequest('malformed userName');
    const a = relay.accounts.publicByName(name);
    if (!a) throw notFound('no such account');
    return c.json(entry(a));
  });

  app.get('/:accountId', (c) => {
    const a = relay.accounts.publicById(pathId(c.req.param('accountId'), 'accountId'));
    if (!a) throw notFound('no such account');
    return c.json(entry(a));
  });

  return app;
}
