/**
 * Folders, their manifests, member list, member wraps, key lineage and profile. Reads for a
 * page of folders are done in a few range queries (not one query per folder) so that a
 * practice of thousands of folders lists quickly.
 */
import type { Db } from '../db/open';

/** A folder as one member sees it. */
export interface FolderRow {
  folder_id: string;
  role: string;
  owner_id: string;
  seq: number;
  epoch: number;
  profile_version: number;
  profile: Buffer | null;
}

/** Row shapes of the per-page range queries. */
export interface ManifestRow {
  folder_id: string;
  seq: number;
  epoch: number;
  data: Buffer;
}
/** A member of a folder. */
export interface MemberRow {
  folder_id: string;
  account_id: string;
  role: string;
}
/** A member wrap (the caller's own). */
export interface WrapRow {
  folder_id: string;
  epoch: number;
  wrap: Buffer;
}
/** A lineage object. */
export interface LineageRow {
  folder_id: string;
  epoch: number;
  data: Buffer;
}

/** Everything one page of folders needs, grouped by the caller's rows. */
export interface FolderPage {
  folders: FolderRow[];
  manifests: ManifestRow[];
  members: MemberRow[];
  wraps: WrapRow[];
  lineage: LineageRow[];
}

/** A member entry to write. */
export interface MemberInput {
  accountId: string;
  role: 'owner' | 'editor' | 'reader';
}
/** A wrap to write. */
export interface WrapInput {
  accountId: string;
  epoch: number;
  wrap: Buffer;
}

/** Statements over the folder tables. Multi-statement writes run in one transaction. */
export class FolderStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    const folderCols = `m.folder_id, m.role, f.owner_id, f.seq, f.epoch, f.profile_version,
      f.profile FROM folder_members m JOIN folders f ON f.folder_id = m.folder_id
      WHERE m.account_id = ?`;
    // Range queries over [first, last] of a page; only for folders the caller is a full
    // member of (a pending member sees nothing but the folder's existence).
    const active = `me.account_id = ? AND me.role <> 'pending' AND me.folder_id BETWEEN ? AND ?`;
    this.#s = {
      page: db.prepare<[string, string, number], FolderRow>(
        `SELECT ${folderCols} AND m.folder_id > ? ORDER BY m.folder_id LIMIT ?`,
      ),
      one: db.prepare<[string, string], FolderRow>(`SELECT ${folderCols} AND m.folder_id = ?`),
      manifests: db.prepare<[string, string, string], ManifestRow>(
        `SELECT fm.folder_id, fm.seq, fm.epoch, fm.data FROM folder_members me
         JOIN folders f ON f.folder_id = me.folder_id
         JOIN folder_manifests fm ON fm.folder_id = f.folder_id AND fm.seq = f.seq
         WHERE ${active}`,
      ),
      members: db.prepare<[string, string, string], MemberRow>(
        `SELECT fm.folder_id, fm.account_id, fm.role FROM folder_members me
         JOIN folder_members fm ON fm.folder_id = me.folder_id
         WHERE ${active} ORDER BY fm.folder_id, fm.account_id`,
      ),
      wraps: db.prepare<[string, string, string], WrapRow>(
        `SELECT w.folder_id, w.epoch, w.wrap FROM folder_members me
         JOIN member_wraps w ON w.folder_id = me.folder_id AND w.account_id = me.account_id
         WHERE ${active} ORDER BY w.folder_id, w.epoch`,
      ),
      lineage: db.prepare<[string, string, string], LineageRow>(
        `SELECT l.folder_id, l.epoch, l.data FROM folder_members me
         JOIN folder_lineage l ON l.folder_id = me.folder_id
         WHERE ${active} ORDER BY l.folder_id, l.epoch`,
      ),
      role: db.prepare<[string, string], { role: string }>(
        'SELECT role FROM folder_members WHERE folder_id = ? AND account_id = ?',
      ),
      head: db.prepare<[string], { owner_id: string; seq: number; epoch: number }>(
        'SELECT owner_id, seq, epoch FROM folders WHERE folder_id = ?',
      ),
      exists: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM folders WHERE folder_id = ?',
      ),
      accountExists: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM accounts WHERE account_id = ?',
      ),
      insertFolder: db.prepare<[string, string, number, number, number, Buffer | null, number]>(
        'INSERT INTO folders VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      setHead: db.prepare<[number, number, string]>(
        'UPDATE folders SET seq = ?, epoch = ? WHERE folder_id = ?',
      ),
      insertManifest: db.prepare<[string, number, number, Buffer, number]>(
        'INSERT INTO folder_manifests VALUES (?, ?, ?, ?, ?)',
      ),
      manifestsAfter: db.prepare<[string, number], ManifestRow>(
        `SELECT folder_id, seq, epoch, data FROM folder_manifests
         WHERE folder_id = ? AND seq > ? ORDER BY seq`,
      ),
      allMembers: db.prepare<[string], MemberRow>(
        'SELECT folder_id, account_id, role FROM folder_members WHERE folder_id = ?',
      ),
      upsertMember: db.prepare<[string, string, string]>(
        `INSERT INTO folder_members VALUES (?, ?, ?)
         ON CONFLICT (folder_id, account_id) DO UPDATE SET role = excluded.role`,
      ),
      deleteMember: db.prepare<[string, string]>(
        'DELETE FROM folder_members WHERE folder_id = ? AND account_id = ?',
      ),
      deleteWrapsOf: db.prepare<[string, string]>(
        'DELETE FROM member_wraps WHERE folder_id = ? AND account_id = ?',
      ),
      upsertWrap: db.prepare<[string, string, number, Buffer]>(
        `INSERT INTO member_wraps VALUES (?, ?, ?, ?)
         ON CONFLICT (folder_id, account_id, epoch) DO UPDATE SET wrap = excluded.wrap`,
      ),
      hasWrap: db.prepare<[string, string, number], { one: number }>(
        'SELECT 1 AS one FROM member_wraps WHERE folder_id = ? AND account_id = ? AND epoch = ?',
      ),
      insertLineage: db.prepare<[string, number, Buffer]>(
        'INSERT INTO folder_lineage VALUES (?, ?, ?)',
      ),
      deleteInvitesOf: db.prepare<[string, string]>(
        'DELETE FROM invites WHERE folder_id = ? AND invitee_id = ?',
      ),
      setProfile: db.prepare<[Buffer, string, number]>(
        `UPDATE folders SET profile = ?, profile_version = profile_version + 1
         WHERE folder_id = ? AND profile_version = ?`,
      ),
      folderBlobs: db.prepare<[string], { blob_id: string }>(
        'SELECT blob_id FROM blobs WHERE folder_id = ?',
      ),
      deleteVersions: db.prepare<[string]>('DELETE FROM record_versions WHERE folder_id = ?'),
      deleteBlobs: db.prepare<[string]>('DELETE FROM blobs WHERE folder_id = ?'),
      deleteFolder: db.prepare<[string]>('DELETE FROM folders WHERE folder_id = ?'),
    };
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  /** The caller's role in the folder, or undefined if they are not in it. */
  role(folderId: string, accountId: string): string | undefined {
    return this.#s.role.get(folderId, accountId)?.role;
  }

  /** Owner, seq and epoch of a folder. */
  head(folderId: string): { owner_id: string; seq: number; epoch: number } | undefined {
    return this.#s.head.get(folderId);
  }

  /** Does a folder with this id exist (whoever owns it)? */
  exists(folderId: string): boolean {
    return this.#s.exists.get(folderId) !== undefined;
  }

  /** Does an account with this id exist? */
  accountExists(accountId: string): boolean {
    return this.#s.accountExists.get(accountId) !== undefined;
  }

  /** A page of the caller's folders after `after` (exclusive), or one folder by id. */
  page(
    accountId: string,
    sel: { after: string; limit: number } | { folderId: string },
  ): FolderPage {
    const folders =
      'folderId' in sel
        ? this.#s.one.all(accountId, sel.folderId)
        : this.#s.page.all(accountId, sel.after, sel.limit);
    const first = folders[0]?.folder_id;
    const last = folders.at(-1)?.folder_id;
    if (first === undefined || last === undefined) {
      return { folders, manifests: [], members: [], wraps: [], lineage: [] };
    }
    const range = [accountId, first, last] as const;
    return {
      folders,
      manifests: this.#s.manifests.all(...range),
      members: this.#s.members.all(...range),
      wraps: this.#s.wraps.all(...range),
      lineage: this.#s.lineage.all(...range),
    };
  }

  /** Manifests with seq > `after`, oldest first. */
  manifestsAfter(folderId: string, after: number): ManifestRow[] {
    return this.#s.manifestsAfter.all(folderId, after);
  }

  /** Creates a folder with its first manifest, members, wraps and optional profile. */
  create(f: {
    folderId: string;
    ownerId: string;
    seq: number;
    epoch: number;
    manifest: Buffer;
    members: MemberInput[];
    wraps: WrapInput[];
    profile?: Buffer | undefined;
    now: number;
  }): void {
    const s = this.#s;
    s.insertFolder.run(
      f.folderId,
      f.ownerId,
      f.seq,
      f.epoch,
      f.profile ? 1 : 0,
      f.profile ?? null,
      f.now,
    );
    s.insertManifest.run(f.folderId, f.seq, f.epoch, f.manifest, f.now);
    for (const m of f.members) s.upsertMember.run(f.folderId, m.accountId, m.role);
    for (const w of f.wraps) s.upsertWrap.run(f.folderId, w.accountId, w.epoch, w.wrap);
  }

  /** Every member row, pending ones included. */
  members(folderId: string): MemberRow[] {
    return this.#s.allMembers.all(folderId);
  }

  /** Is there a stored wrap for this member and epoch? */
  hasWrap(folderId: string, accountId: string, epoch: number): boolean {
    return this.#s.hasWrap.get(folderId, accountId, epoch) !== undefined;
  }

  /**
   * Writes a validated manifest update: new head, member list (removing `removed`, deleting
   * their wraps), wraps, lineage, and drops the invites of promoted invitees. Call inside
   * {@link transaction} together with the compare-and-swap check.
   */
  applyManifest(u: {
    folderId: string;
    seq: number;
    epoch: number;
    manifest: Buffer;
    members: MemberInput[];
    removed: string[];
    promoted: string[];
    wraps: WrapInput[];
    lineage: Buffer | undefined;
    now: number;
  }): void {
    const s = this.#s;
    s.insertManifest.run(u.folderId, u.seq, u.epoch, u.manifest, u.now);
    s.setHead.run(u.seq, u.epoch, u.folderId);
    for (const a of u.removed) {
      s.deleteWrapsOf.run(u.folderId, a);
      s.deleteMember.run(u.folderId, a);
    }
    for (const m of u.members) s.upsertMember.run(u.folderId, m.accountId, m.role);
    for (const a of u.promoted) s.deleteInvitesOf.run(u.folderId, a);
    for (const w of u.wraps) s.upsertWrap.run(u.folderId, w.accountId, w.epoch, w.wrap);
    if (u.lineage) s.insertLineage.run(u.folderId, u.epoch, u.lineage);
  }

  /** Compare-and-swap of the profile; false if `expectedVersion` is stale. */
  setProfile(folderId: string, expectedVersion: number, data: Buffer): boolean {
    return this.#s.setProfile.run(data, folderId, expectedVersion).changes === 1;
  }

  /** Deletes a folder and everything in it; returns the ids of the blob files to remove. */
  delete(folderId: string): string[] {
    return this.transaction(() => {
      const s = this.#s;
      const blobs = s.folderBlobs.all(folderId).map((r) => r.blob_id);
      // Versions reference blobs, and blobs reference the folder: delete in that order.
      s.deleteVersions.run(folderId);
      s.deleteBlobs.run(folderId);
      s.deleteFolder.run(folderId);
      return blobs;
    });
  }
}
