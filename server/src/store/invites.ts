/**
 * Invites. The relay never sees the invite secret; it stores SHA-256 of the lookup id the
 * client derives from it, the folder key sealed to the secret, and, once accepted, the
 * invitee's MACed response.
 */
import type { Db } from '../db/open';

/** An `invites` row. */
export interface InviteRow {
  invite_id: string;
  lookup_hash: Buffer;
  folder_id: string;
  inviter_id: string;
  role: string;
  sealed_key: Buffer;
  created_at: number;
  expires_at: number;
  invitee_id: string | null;
  accepted_at: number | null;
  response: Buffer | null;
}

/** Outcome of {@link InviteStore.accept}. */
export type AcceptResult = { ok: true; folderId: string } | { ok: false; why: 'gone' | 'member' };

/** Statements over `invites`. */
export class InviteStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    this.#s = {
      insert: db.prepare<[string, Buffer, string, string, string, Buffer, number, number]>(
        `INSERT INTO invites VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)`,
      ),
      lookupTaken: db.prepare<[Buffer], { one: number }>(
        'SELECT 1 AS one FROM invites WHERE lookup_hash = ?',
      ),
      open: db.prepare<[Buffer, number], InviteRow>(
        `SELECT * FROM invites WHERE lookup_hash = ? AND accepted_at IS NULL AND expires_at > ?`,
      ),
      accept: db.prepare<[string, number, Buffer, string, number]>(
        `UPDATE invites SET invitee_id = ?, accepted_at = ?, response = ?
         WHERE invite_id = ? AND accepted_at IS NULL AND expires_at > ?`,
      ),
      addPending: db.prepare<[string, string]>(
        `INSERT INTO folder_members VALUES (?, ?, 'pending')`,
      ),
      inFolder: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM folder_members WHERE folder_id = ? AND account_id = ?',
      ),
      byFolder: db.prepare<[string], InviteRow>(
        'SELECT * FROM invites WHERE folder_id = ? ORDER BY created_at, invite_id',
      ),
      one: db.prepare<[string, string], InviteRow>(
        'SELECT * FROM invites WHERE invite_id = ? AND folder_id = ?',
      ),
      delete: db.prepare<[string]>('DELETE FROM invites WHERE invite_id = ?'),
      dropPending: db.prepare<[string, string]>(
        `DELETE FROM folder_members WHERE folder_id = ? AND account_id = ? AND role = 'pending'`,
      ),
      deleteExpired: db.prepare<[number]>(
        'DELETE FROM invites WHERE accepted_at IS NULL AND expires_at <= ?',
      ),
    };
  }

  /** Is this lookup hash already used by an invite? */
  lookupTaken(lookupHash: Buffer): boolean {
    return this.#s.lookupTaken.get(lookupHash) !== undefined;
  }

  /** Stores a new invite. */
  insert(i: {
    inviteId: string;
    lookupHash: Buffer;
    folderId: string;
    inviterId: string;
    role: string;
    sealedKey: Buffer;
    now: number;
    expiresAt: number;
  }): void {
    this.#s.insert.run(
      i.inviteId,
      i.lookupHash,
      i.folderId,
      i.inviterId,
      i.role,
      i.sealedKey,
      i.now,
      i.expiresAt,
    );
  }

  /** An invite that is neither used nor expired. */
  open(lookupHash: Buffer, now: number): InviteRow | undefined {
    return this.#s.open.get(lookupHash, now);
  }

  /**
   * Single-use acceptance, in one transaction: 'gone' if the invite is used, expired or
   * unknown; 'member' if the invitee is already in the folder; else marks it used, stores
   * the response and adds the invitee as a pending member.
   */
  accept(lookupHash: Buffer, inviteeId: string, response: Buffer, now: number): AcceptResult {
    return this.#db.transaction((): AcceptResult => {
      const inv = this.#s.open.get(lookupHash, now);
      if (!inv) return { ok: false, why: 'gone' };
      if (this.#s.inFolder.get(inv.folder_id, inviteeId)) return { ok: false, why: 'member' };
      if (this.#s.accept.run(inviteeId, now, response, inv.invite_id, now).changes !== 1) {
        return { ok: false, why: 'gone' };
      }
      this.#s.addPending.run(inv.folder_id, inviteeId);
      return { ok: true, folderId: inv.folder_id };
    })();
  }

  /** Every invite of a folder. */
  byFolder(folderId: string): InviteRow[] {
    return this.#s.byFolder.all(folderId);
  }

  /** Revokes an invite, and the invitee's pending membership if any. False if unknown. */
  revoke(folderId: string, inviteId: string): boolean {
    return this.#db.transaction(() => {
      const inv = this.#s.one.get(inviteId, folderId);
      if (!inv) return false;
      this.#s.delete.run(inviteId);
      if (inv.invitee_id) this.#s.dropPending.run(folderId, inv.invitee_id);
      return true;
    })();
  }

  /** Deletes open invites past their expiry; returns how many. */
  deleteExpired(now: number): number {
    return this.#s.deleteExpired.run(now).changes;
  }
}
