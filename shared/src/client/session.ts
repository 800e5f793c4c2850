/**
 * Sign-up, login, unlock, recovery and password change. The password never leaves the
 * client: Argon2id → HKDF gives `authKey` (sent) and `keyringKey` (kept). The KDF parameters
 * come from the relay, so they are checked against the floor and against the last ones this
 * device saw *before* any derivation (`KDF_TOO_WEAK`).
 */
import {
  createKeyBundle,
  generateAccountKeys,
  verifyKeyBundle,
  type AccountSecrets,
  type Role,
} from '../account';
import { equalBytes } from '../bytes';
import { CarnetError } from '../errors';
import { newId, type AccountId } from '../ids';
import {
  assertKdfNotWeaker,
  deriveLoginKeys,
  kdfParamsEqual,
  newKdfParams,
  type KdfParams,
} from '../kdf';
import { openKeyringWithPassword, readKeyringKdfParams, sealKeyringWithPassword } from '../keyring';
import {
  generateRecoveryCode,
  openKeyringWithRecovery,
  parseRecoveryCode,
  sealKeyringWithRecovery,
  recoveryAuthKey,
} from '../recovery';
import { fingerprint } from '../safety-code';
import type { Core, Session } from './core';
import { isApiError, notLoggedIn } from './http';
import { kdfKey, parseJson, SESSION_KEY } from './store';
import type { AccountInfo } from './types';
import { kdfFromWire, kdfToWire, type AccountRole, type LoginAnswer } from './wire';

/** The session as saved in the local store. */
interface SavedSession {
  accountId: AccountId;
  userName: string;
  token: string;
}

/** The public view of a session. */
export function accountInfo(s: Session): AccountInfo {
  return { accountId: s.accountId, userName: s.userName, role: s.role, safetyCode: s.safetyCode };
}

/** Creates an account, logs it in; returns the recovery code to show once. */
export async function signUp(
  core: Core,
  o: { userName: string; password: string; role: Role },
): Promise<{ account: AccountInfo; recoveryCode: string }> {
  const userName = o.userName.toLowerCase();
  const accountId = newId<AccountId>();
  const secrets = await generateAccountKeys();
  const keyBundle = await createKeyBundle(secrets, {
    accountId,
    role: o.role,
    createdAt: core.now(),
  });
  const kdf = newKdfParams();
  const { authKey, keyringKey } = await deriveLoginKeys(o.password, kdf);
  const recoveryCode = generateRecoveryCode();
  const answer = await core.api.register({
    accountId,
    userName,
    role: o.role,
    keyBundle,
    authKey,
    kdf,
    keyring: sealKeyringWithPassword(secrets, keyringKey, kdf, accountId),
    recovery: {
      authKey: recoveryAuthKey(recoveryCode),
      keyring: sealKeyringWithRecovery(secrets, recoveryCode, accountId),
    },
  });
  if (answer.accountId !== accountId) throw new CarnetError('CONTEXT_MISMATCH');
  const session = await establish(core, answer, secrets);
  return { account: accountInfo(session), recoveryCode };
}

/** Pre-login, checks, derivation, login, keyring. */
export async function login(
  core: Core,
  o: { userName: string; password: string },
): Promise<AccountInfo> {
  const userName = o.userName.toLowerCase();
  const kdf = await checkedParams(core, userName, await core.api.prelogin(userName));
  const { authKey, keyringKey } = await deriveLoginKeys(o.password, kdf);
  let answer: LoginAnswer;
  try {
    answer = await core.api.login(userName, authKey);
  } catch (e) {
    if (isApiError(e, 'UNAUTHENTICATED'))
      throw new CarnetError('BAD_PASSWORD', undefined, { cause: e });
    throw e;
  }
  answeredFor(answer, userName);
  sameParams(kdf, answer.kdf, answer.keyring);
  const secrets = await openKeyringWithPassword(answer.keyring, keyringKey, answer.accountId);
  return accountInfo(await establish(core, answer, secrets));
}

/**
 * The relay must answer a login for the account asked about: the user name is not in the
 * signed key bundle, so a relay could otherwise log a person into someone else's session view.
 */
function answeredFor(answer: LoginAnswer, userName: string): void {
  if (answer.userName !== userName) {
    throw new CarnetError('CONTEXT_MISMATCH', 'The relay answered for another account.');
  }
}

/** Resumes the session saved in the store, re-opening the keyring with the password. */
export async function unlock(core: Core, o: { password: string }): Promise<AccountInfo> {
  const raw = await core.store.get(SESSION_KEY);
  const saved = raw === undefined ? undefined : (parseJson(raw) as SavedSession | undefined);
  if (saved === undefined || typeof saved.token !== 'string') throw notLoggedIn();
  core.api.http.token = saved.token;
  const me = await core.api.me();
  // The user name decides which last-seen KDF parameters apply: it must be the one saved.
  if (me.accountId !== saved.accountId || me.userName !== saved.userName) {
    throw new CarnetError('CONTEXT_MISMATCH');
  }
  const kdf = await checkedParams(core, me.userName, me.kdf);
  sameParams(kdf, me.kdf, me.keyring);
  const { keyringKey } = await deriveLoginKeys(o.password, kdf);
  let secrets: AccountSecrets;
  try {
    secrets = await openKeyringWithPassword(me.keyring, keyringKey, me.accountId);
  } catch (e) {
    // The relay accepted our token, so a keyring that does not open means a wrong password.
    if (e instanceof CarnetError && e.code === 'INTEGRITY') throw new CarnetError('BAD_PASSWORD');
    throw e;
  }
  const bundle = await verifyKeyBundle(me.keyBundle, me.accountId);
  const answer: LoginAnswer = {
    ...me,
    role: bundle.role,
    session: { token: saved.token, expiresAt: 0 },
  };
  return accountInfo(await establish(core, answer, secrets));
}

/** Logs in with the recovery code, then sets a new password and a new recovery code. */
export async function recover(
  core: Core,
  o: { userName: string; recoveryCode: string; newPassword: string },
): Promise<{ account: AccountInfo; recoveryCode: string }> {
  const userName = o.userName.toLowerCase();
  const code = parseRecoveryCode(o.recoveryCode);
  let answer: LoginAnswer;
  try {
    answer = await core.api.recover(userName, recoveryAuthKey(code));
  } catch (e) {
    if (isApiError(e, 'UNAUTHENTICATED')) {
      throw new CarnetError('BAD_RECOVERY_CODE', undefined, { cause: e });
    }
    throw e;
  }
  answeredFor(answer, userName);
  const secrets = await openKeyringWithRecovery(answer.keyring, code, answer.accountId);
  // Not remembered: nothing was derived with these parameters, and the new password brings its own.
  const session = await establish(core, answer, secrets, false);
  const recoveryCode = await setPassword(core, o.newPassword, undefined);
  return { account: accountInfo(session), recoveryCode };
}

/** Changes the password of the logged-in account (the recovery code stays valid). */
export async function changePassword(
  core: Core,
  o: { currentPassword: string; newPassword: string },
): Promise<void> {
  const s = core.session;
  const me = await core.api.me();
  const kdf = await checkedParams(core, s.userName, me.kdf);
  const { authKey } = await deriveLoginKeys(o.currentPassword, kdf);
  try {
    await setPasswordWith(core, o.newPassword, authKey, undefined);
  } catch (e) {
    if (isApiError(e, 'UNAUTHENTICATED'))
      throw new CarnetError('BAD_PASSWORD', undefined, { cause: e });
    throw e;
  }
}

/**
 * Ends the session on the relay and here. A saved session that was never unlocked on this run
 * (a CLI invocation) is revoked too: its token alone is enough to end it, and leaving it valid
 * until the idle timeout would make "log out" a lie.
 */
export async function logout(core: Core): Promise<void> {
  try {
    if (core.maybeSession === undefined) {
      const raw = await core.store.get(SESSION_KEY);
      const saved = raw === undefined ? undefined : (parseJson(raw) as SavedSession | undefined);
      if (saved !== undefined && typeof saved.token === 'string') core.api.http.token = saved.token;
    }
    if (core.api.http.token !== undefined) await core.api.logout();
  } catch (e) {
    // An expired session is already over on the relay; anything else is worth reporting.
    if (!isApiError(e, 'UNAUTHENTICATED')) throw e;
  } finally {
    await core.store.delete(SESSION_KEY);
    core.setSession(undefined, undefined);
  }
}

/** New password and new recovery code after a recovery login; returns the code. */
async function setPassword(
  core: Core,
  newPassword: string,
  currentAuthKey: Uint8Array | undefined,
): Promise<string> {
  const code = generateRecoveryCode();
  await setPasswordWith(core, newPassword, currentAuthKey, code);
  return code;
}

async function setPasswordWith(
  core: Core,
  newPassword: string,
  currentAuthKey: Uint8Array | undefined,
  newRecoveryCode: string | undefined,
): Promise<void> {
  const s = core.session;
  const kdf = newKdfParams();
  const { authKey, keyringKey } = await deriveLoginKeys(newPassword, kdf);
  await core.api.setPassword({
    ...(currentAuthKey ? { currentAuthKey } : {}),
    authKey,
    kdf,
    keyring: sealKeyringWithPassword(s.secrets, keyringKey, kdf, s.accountId),
    ...(newRecoveryCode
      ? {
          recovery: {
            authKey: recoveryAuthKey(newRecoveryCode),
            keyring: sealKeyringWithRecovery(s.secrets, newRecoveryCode, s.accountId),
          },
        }
      : {}),
  });
  await rememberParams(core, s.userName, kdf);
}

/** Floor and last-seen checks on parameters from the relay, before any derivation. */
async function checkedParams(core: Core, userName: string, kdf: KdfParams): Promise<KdfParams> {
  const raw = await core.store.get(kdfKey(userName));
  const last = raw === undefined ? undefined : kdfFromWire(parseJson(raw));
  assertKdfNotWeaker(kdf, last);
  return kdf;
}

/** The relay must log us in with the parameters we derived with, also bound in the keyring. */
function sameParams(used: KdfParams, answered: KdfParams, keyring: Uint8Array): void {
  if (!kdfParamsEqual(used, answered) || !kdfParamsEqual(used, readKeyringKdfParams(keyring))) {
    throw new CarnetError('KDF_TOO_WEAK', 'The relay changed the key derivation parameters.');
  }
}

async function rememberParams(core: Core, userName: string, kdf: KdfParams): Promise<void> {
  await core.store.set(kdfKey(userName), JSON.stringify(kdfToWire(kdf)));
}

/**
 * Checks that the relay's copy of our bundle carries our keys, then installs the session and
 * saves it (token, last KDF parameters).
 */
async function establish(
  core: Core,
  answer: LoginAnswer,
  secrets: AccountSecrets,
  rememberKdf = true,
): Promise<Session> {
  const bundle = await verifyKeyBundle(answer.keyBundle, answer.accountId);
  if (
    !equalBytes(bundle.identityPublicKey, secrets.identityPublicKey) ||
    !equalBytes(bundle.encryptionPublicKey, secrets.encryptionPublicKey) ||
    bundle.role !== (answer.role satisfies AccountRole)
  ) {
    throw new CarnetError(
      'KEY_UNVERIFIED',
      'The relay serves another key bundle for this account.',
    );
  }
  const session: Session = {
    accountId: answer.accountId,
    userName: answer.userName,
    role: bundle.role,
    secrets,
    bundle,
    safetyCode: fingerprint(bundle),
  };
  core.setSession(session, answer.session.token);
  const saved: SavedSession = {
    accountId: session.accountId,
    userName: session.userName,
    token: answer.session.token,
  };
  await core.store.set(SESSION_KEY, JSON.stringify(saved));
  if (rememberKdf) await rememberParams(core, session.userName, answer.kdf);
  return session;
}
