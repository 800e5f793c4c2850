/**
 * Accounts and authentication: register, pre-login, login, recovery login, password change,
 * logout, and the caller's own account.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { readJson } from '../http/body';
import {
  clearSessionCookie,
  clientAddress,
  issueSession,
  requireSession,
  sha256,
} from '../http/auth';
import { conflict, unauthenticated } from '../http/errors';
import { accountRole, b64, bytes, id, kdf, LIMITS, userName, type Kdf } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { kdfOf, type AccountRow } from '../store/accounts';
import { completeDeletion, deletionStore } from '../store/deletion';

const authKey = bytes(32, true);
const keyring = bytes(LIMITS.keyring);
const recovery = z.strictObject({ authKey, keyring });

const registerBody = z.strictObject({
  accountId: id,
  userName,
  role: accountRole,
  keyBundle: bytes(LIMITS.keyBundle),
  authKey,
  kdf,
  keyring,
  recovery,
});
const preloginBody = z.strictObject({ userName });
const deleteAccountBody = z.strictObject({ authKey });
const loginBody = z.strictObject({ userName, authKey });
const recoverBody = z.strictObject({ userName, recoveryAuthKey: authKey });
const passwordBody = z.strictObject({
  currentAuthKey: authKey.optional(),
  authKey,
  kdf,
  keyring,
  recovery: recovery.optional(),
});

/** The KDF answer in JSON form. */
const kdfJson = (k: Kdf) => ({ ...k, salt: b64(k.salt) });

/** Constant-time comparison of a presented key's hash with a stored hash. */
function matches(stored: Buffer | undefined, presented: Buffer): boolean {
  // Hash even for unknown accounts, compare against a dummy: same work either way.
  const digest = sha256(presented);
  return timingSafeEqual(digest, stored ?? Buffer.alloc(32)) && stored !== undefined;
}

/** Sub-app factory for `/accounts` and `/auth`. */
export function accountRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;
  const auth = requireSession(relay);
  const address = (c: Context<AppEnv>) => clientAddress(c, relay.config.trustProxy);

  const loginAnswer = (c: Context<AppEnv>, a: AccountRow, viaRecovery: boolean) => ({
    accountId: a.account_id,
    userName: a.user_name,
    role: a.role,
    keyBundle: b64(a.key_bundle),
    kdf: kdfJson(kdfOf(a)),
    keyring: b64(viaRecovery ? a.keyring_recovery : a.keyring_password),
    session: issueSession(c, relay, a.account_id, viaRecovery),
  });

  /** Per-name and per-address windows on failed attempts; checked before any work. */
  const guarded = (c: Context<AppEnv>, name: string) => {
    const keys = { user: name, addr: address(c) };
    relay.limits.loginUser.check(keys.user);
    relay.limits.loginAddress.check(keys.addr);
    return () => {
      relay.limits.loginUser.hit(keys.user);
      relay.limits.loginAddress.hit(keys.addr);
    };
  };

  app.post('/accounts', async (c) => {
    relay.limits.anonymous.check(address(c));
    const b = await readJson(c, registerBody, limit);
    relay.limits.anonymous.hit(address(c));
    const row: AccountRow = {
      account_id: b.accountId,
      user_name: b.userName,
      role: b.role,
      key_bundle: b.keyBundle,
      auth_key_hash: sha256(b.authKey),
      kdf_algorithm: b.kdf.algorithm,
      kdf_memory_kib: b.kdf.memoryKiB,
      kdf_iterations: b.kdf.iterations,
      kdf_parallelism: b.kdf.parallelism,
      kdf_salt: b.kdf.salt,
      keyring_password: b.keyring,
      recovery_auth_key_hash: sha256(b.recovery.authKey),
      keyring_recovery: b.recovery.keyring,
      created_at: relay.now(),
    };
    relay.db.transaction(() => {
      if (relay.accounts.byId(b.accountId)) throw conflict('accountId already taken');
      if (relay.accounts.byName(b.userName)) throw conflict('userName already taken');
      relay.accounts.insert(row);
    })();
    return c.json(loginAnswer(c, row, false), 201);
  });

  app.post('/auth/prelogin', async (c) => {
    relay.limits.anonymous.check(address(c));
    const { userName: name } = await readJson(c, preloginBody, limit);
    relay.limits.anonymous.hit(address(c));
    // Computed for every name, so known and unknown names cost the same.
    const fakeSalt = createHmac('sha256', relay.secret)
      .update('carnet fake salt\0')
      .update(name)
      .digest()
      .subarray(0, 16);
    const row = relay.accounts.byName(name);
    const answer: Kdf = row
      ? kdfOf(row)
      : { algorithm: 'argon2id', ...relay.config.fakeKdf, salt: fakeSalt };
    return c.json({ kdf: kdfJson(answer) });
  });

  app.post('/auth/login', async (c) => {
    const b = await readJson(c, loginBody, limit);
    const fail = guarded(c, b.userName);
    const row = relay.accounts.byName(b.userName);
    if (!matches(row?.auth_key_hash, b.authKey) || !row) {
      fail();
      throw unauthenticated('invalid user name or key');
    }
    return c.json(loginAnswer(c, row, false));
  });

  app.post('/auth/recover', async (c) => {
    const b = await readJson(c, recoverBody, limit);
    const fail = guarded(c, b.userName);
    const row = relay.accounts.byName(b.userName);
    if (!matches(row?.recovery_auth_key_hash, b.recoveryAuthKey) || !row) {
      fail();
      throw unauthenticated('invalid user name or recovery key');
    }
    return c.json(loginAnswer(c, row, true));
  });

  app.put('/auth/password', auth, async (c) => {
    const s = c.var.session;
    const b = await readJson(c, passwordBody, limit);
    const row = relay.accounts.byId(s.accountId);
    if (!row) throw unauthenticated();
    if (!s.viaRecovery) {
      const fail = guarded(c, row.user_name);
      if (!b.currentAuthKey || !matches(row.auth_key_hash, b.currentAuthKey)) {
        fail();
        throw unauthenticated('current key required');
      }
    }
    relay.db.transaction(() => {
      relay.accounts.setPassword(s.accountId, {
        authKeyHash: sha256(b.authKey),
        kdf: b.kdf,
        keyring: b.keyring,
        recovery: b.recovery && {
          authKeyHash: sha256(b.recovery.authKey),
          keyring: b.recovery.keyring,
        },
      });
      relay.sessions.revokeOthers(s.accountId, s.tokenHash);
    })();
    return c.body(null, 204);
  });

  app.post('/auth/logout', auth, (c) => {
    relay.sessions.delete(c.var.session.tokenHash);
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  // Deleting the account needs the password again (its auth key), even from a recovery
  // session: a stolen session token alone must not be able to erase a medical file.
  app.delete('/accounts/me', auth, async (c) => {
    const s = c.var.session;
    const b = await readJson(c, deleteAccountBody, limit);
    const row = relay.accounts.byId(s.accountId);
    if (!row) throw unauthenticated();
    const fail = guarded(c, row.user_name);
    if (!matches(row.auth_key_hash, b.authKey)) {
      fail();
      throw unauthenticated('current key required');
    }
    const at = relay.now();
    const outcome = relay.db.transaction(() =>
      deletionStore(relay.db).deleteAccount(s.accountId, at),
    )();
    clearSessionCookie(c);
    const receipt = await completeDeletion(relay, outcome, {
      subject: 'account',
      subjectId: s.accountId,
      requestedBy: s.accountId,
      at,
    });
    return c.json({ receipt: b64(receipt) });
  });

  app.get('/accounts/me', auth, (c) => {
    const a = relay.accounts.byId(c.var.session.accountId);
    if (!a) throw unauthenticated();
    return c.json({
      accountId: a.account_id,
      userName: a.user_name,
      role: a.role,
      keyBundle: b64(a.key_bundle),
      kdf: kdfJson(kdfOf(a)),
      keyring: b64(a.keyring_password),
      usage: { usedBytes: relay.blobs.used(a.account_id), quotaBytes: relay.config.quotaBytes },
    });
  });

  return app;
}
