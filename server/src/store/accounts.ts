/**
 * Accounts and sessions: prepared statements over `accounts` and `sessions`.
 */
import type { Db } from '../db/open';
import type { Kdf } from '../http/schemas';

/** An `accounts` row. */
export interface AccountRow {
  account_id: string;
  user_name: string;
  role: string;
  key_bundle: Buffer;
  auth_key_hash: Buffer;
  kdf_algorithm: string;
  kdf_memory_kib: number;
  kdf_iterations: number;
  kdf_parallelism: number;
  kdf_salt: Buffer;
  keyring_password: Buffer;
  recovery_auth_key_hash: Buffer;
  keyring_recovery: Buffer;
  created_at: number;
}

/** The public part of an account, as the directory serves it. */
export type PublicAccount = Pick<AccountRow, 'account_id' | 'user_name' | 'role' | 'key_bundle'>;

/** A `sessions` row. */
export interface SessionRow {
  token_hash: Buffer;
  account_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  via_recovery: number;
}

/** New or replacement password material. */
export interface PasswordMaterial {
  authKeyHash: Buffer;
  kdf: Kdf;
  keyring: Buffer;
  recovery?: { authKeyHash: Buffer; keyring: Buffer } | undefined;
}

/** Statements over `accounts`. */
export class AccountStore {
  readonly #byId;
  readonly #byName;
  readonly #publicById;
  readonly #publicByName;
  readonly #insert;
  readonly #setPassword;
  readonly #setRecovery;

  constructor(db: Db) {
    this.#byId = db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE account_id = ?');
    this.#byName = db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE user_name = ?');
    const pub = 'SELECT account_id, user_name, role, key_bundle FROM accounts';
    this.#publicById = db.prepare<[string], PublicAccount>(`${pub} WHERE account_id = ?`);
    this.#publicByName = db.prepare<[string], PublicAccount>(`${pub} WHERE user_name = ?`);
    this.#insert = db.prepare<[AccountRow]>(
      `INSERT INTO accounts VALUES (@account_id, @user_name, @role, @key_bundle, @auth_key_hash,
        @kdf_algorithm, @kdf_memory_kib, @kdf_iterations, @kdf_parallelism, @kdf_salt,
        @keyring_password, @recovery_auth_key_hash, @keyring_recovery, @created_at)`,
    );
    this.#setPassword = db.prepare<
      [Buffer, string, number, number, number, Buffer, Buffer, string]
    >(
      `UPDATE accounts SET auth_key_hash = ?, kdf_algorithm = ?, kdf_memory_kib = ?,
        kdf_iterations = ?, kdf_parallelism = ?, kdf_salt = ?, keyring_password = ?
       WHERE account_id = ?`,
    );
    this.#setRecovery = db.prepare<[Buffer, Buffer, string]>(
      'UPDATE accounts SET recovery_auth_key_hash = ?, keyring_recovery = ? WHERE account_id = ?',
    );
  }

  /** The account with this id. */
  byId(accountId: string): AccountRow | undefined {
    return this.#byId.get(accountId);
  }

  /** The account with this user name. */
  byName(userName: string): AccountRow | undefined {
    return this.#byName.get(userName);
  }

  /** Public part by id. */
  publicById(accountId: string): PublicAccount | undefined {
    return this.#publicById.get(accountId);
  }

  /** Public part by user name. */
  publicByName(userName: string): PublicAccount | undefined {
    return this.#publicByName.get(userName);
  }

  /** Inserts an account; the caller has checked that id and name are free. */
  insert(row: AccountRow): void {
    this.#insert.run(row);
  }

  /** Replaces the password material (and the recovery material if given). */
  setPassword(accountId: string, m: PasswordMaterial): void {
    const { kdf } = m;
    this.#setPassword.run(
      m.authKeyHash,
      kdf.algorithm,
      kdf.memoryKiB,
      kdf.iterations,
      kdf.parallelism,
      kdf.salt,
      m.keyring,
      accountId,
    );
    if (m.recovery) this.#setRecovery.run(m.recovery.authKeyHash, m.recovery.keyring, accountId);
  }
}

/** KDF parameters of a stored account, in the API's shape. */
export function kdfOf(row: AccountRow): Kdf {
  return {
    algorithm: 'argon2id',
    memoryKiB: row.kdf_memory_kib,
    iterations: row.kdf_iterations,
    parallelism: row.kdf_parallelism,
    salt: row.kdf_salt,
  };
}

/** Statements over `sessions`. Tokens are only ever handled as their SHA-256. */
export class SessionStore {
  readonly #insert;
  readonly #get;
  readonly #touch;
  readonly #delete;
  readonly #deleteOthers;
  readonly #clearRecovery;
  readonly #deleteExpired;

  constructor(db: Db) {
    this.#insert = db.prepare<[Buffer, string, number, number, number, number]>(
      'INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#get = db.prepare<[Buffer], SessionRow>('SELECT * FROM sessions WHERE token_hash = ?');
    this.#touch = db.prepare<[number, Buffer]>(
      'UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?',
    );
    this.#delete = db.prepare<[Buffer]>('DELETE FROM sessions WHERE token_hash = ?');
    this.#deleteOthers = db.prepare<[string, Buffer]>(
      'DELETE FROM sessions WHERE account_id = ? AND token_hash <> ?',
    );
    this.#clearRecovery = db.prepare<[Buffer]>(
      'UPDATE sessions SET via_recovery = 0 WHERE token_hash = ?',
    );
    this.#deleteExpired = db.prepare<[number, number]>(
      'DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?',
    );
  }

  /** Stores a new session. */
  create(
    tokenHash: Buffer,
    accountId: string,
    now: number,
    expiresAt: number,
    viaRecovery: boolean,
  ): void {
    this.#insert.run(tokenHash, accountId, now, now, expiresAt, viaRecovery ? 1 : 0);
  }

  /** The session with this token hash. */
  get(tokenHash: Buffer): SessionRow | undefined {
    return this.#get.get(tokenHash);
  }

  /** Records activity (for the idle timeout). */
  touch(tokenHash: Buffer, now: number): void {
    this.#touch.run(now, tokenHash);
  }

  /** Ends one session. */
  delete(tokenHash: Buffer): void {
    this.#delete.run(tokenHash);
  }

  /** Ends every session of the account except `keep`; a recovery session becomes ordinary. */
  revokeOthers(accountId: string, keep: Buffer): void {
    this.#deleteOthers.run(accountId, keep);
    this.#clearRecovery.run(keep);
  }

  /** Deletes sessions past their absolute or idle timeout; returns how many. */
  deleteExpired(now: number, idleTimeoutMs: number): number {
    return this.#deleteExpired.run(now, now - idleTimeoutMs).changes;
  }
}
