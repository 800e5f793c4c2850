/**
 * Support grants: the signed grant bytes with the few fields the relay enforces (parties,
 * rights, time window, revocation), the scope rows and the keys wrapped to the grant key.
 * A grant is never deleted here: its row is what the audit trail's `grantId`s refer to.
 */
import type { Db } from '../db/open';
import { appendAudit } from './audit';

/** A `grants` row. */
export interface GrantRow {
  grant_id: string;
  practitioner_id: string;
  agent_id: string;
  rights: 'read' | 'import';
  not_before: number;
  expires_at: number;
  data: Buffer;
  private_wrap: Buffer;
  created_at: number;
  revoked_at: number | null;
  ended_logged: number;
}

/** A `grant_scope` row; `record_id` is `''` for a whole folder. */
export interface ScopeRow {
  grant_id: string;
  folder_id: string;
  record_id: string;
}

/** A `grant_key_wraps` row; `record_id` `''` and `version` 0 for a folder key. */
export interface KeyWrapRow {
  grant_id: string;
  folder_id: string;
  record_id: string;
  version: number;
  epoch: number;
  wrap: Buffer;
}

/** A key wrap without its bytes (what listings show). */
export type KeyWrapInfo = Omit<KeyWrapRow, 'wrap'>;

/** A grant to insert. */
export interface NewGrant {
  grantId: string;
  practitionerId: string;
  agentId: string;
  rights: 'read' | 'import';
  notBefore: number;
  expiresAt: number;
  data: Buffer;
  privateWrap: Buffer;
  now: number;
  scope: { folderId: string; recordId: string }[];
  wraps: { folderId: string; recordId: string; version: number; epoch: number; wrap: Buffer }[];
}

/** Where a grant in force is: before its window, in it, or ended. */
export type GrantStatus = 'scheduled' | 'active' | 'expired' | 'revoked';

/** Status of a grant at `now`; revocation wins over time. */
export function grantStatus(g: GrantRow, now: number): GrantStatus {
  if (g.revoked_at !== null) return 'revoked';
  if (now < g.not_before) return 'scheduled';
  return now < g.expires_at ? 'active' : 'expired';
}

/** Statements over `grants`, `grant_scope` and `grant_key_wraps`. */
export class GrantStore {
  readonly #s;

  constructor(db: Db) {
    const wrapInfo = 'grant_id, folder_id, record_id, version, epoch';
    // The two sides of "my grants" are separate indexed lookups; UNION ALL keeps both on
    // their index (a grant's practitioner is never its agent: the agent has role support).
    const mine = `SELECT grant_id FROM grants WHERE practitioner_id = ?
                  UNION ALL SELECT grant_id FROM grants WHERE agent_id = ?`;
    this.#s = {
      insert: db.prepare<[string, string, string, string, number, number, Buffer, Buffer, number]>(
        'INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)',
      ),
      insertScope: db.prepare<[string, string, string]>('INSERT INTO grant_scope VALUES (?, ?, ?)'),
      insertWrap: db.prepare<[string, string, string, number, number, Buffer]>(
        'INSERT INTO grant_key_wraps VALUES (?, ?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string], GrantRow>('SELECT * FROM grants WHERE grant_id = ?'),
      exists: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM grants WHERE grant_id = ?',
      ),
      listFor: db.prepare<[string, string], GrantRow>(
        `SELECT * FROM grants WHERE grant_id IN (${mine}) ORDER BY created_at, grant_id`,
      ),
      wrapInfoFor: db.prepare<[string, string], KeyWrapInfo>(
        `SELECT ${wrapInfo} FROM grant_key_wraps WHERE grant_id IN (${mine})
         ORDER BY grant_id, folder_id, record_id, version`,
      ),
      wrapInfo: db.prepare<[string], KeyWrapInfo>(
        `SELECT ${wrapInfo} FROM grant_key_wraps WHERE grant_id = ?
         ORDER BY folder_id, record_id, version`,
      ),
      wraps: db.prepare<[string], KeyWrapRow>(
        `SELECT * FROM grant_key_wraps WHERE grant_id = ? ORDER BY folder_id, record_id, version`,
      ),
      scope: db.prepare<[string], ScopeRow>(
        'SELECT * FROM grant_scope WHERE grant_id = ? ORDER BY folder_id, record_id',
      ),
      scopeOfFolder: db.prepare<[string, string], { record_id: string }>(
        'SELECT record_id FROM grant_scope WHERE grant_id = ? AND folder_id = ?',
      ),
      revoke: db.prepare<[number, string]>(
        'UPDATE grants SET revoked_at = ?, ended_logged = 1 WHERE grant_id = ?',
      ),
      ended: db.prepare<[number], GrantRow>(
        `SELECT * FROM grants WHERE ended_logged = 0 AND expires_at <= ? AND revoked_at IS NULL
         ORDER BY expires_at`,
      ),
      markEnded: db.prepare<[string]>('UPDATE grants SET ended_logged = 1 WHERE grant_id = ?'),
      versionEpochs: db.prepare<[string, string], { version: number; epoch: number }>(
        `SELECT version, epoch FROM record_versions WHERE folder_id = ? AND record_id = ?
         ORDER BY version`,
      ),
      lineage: db.prepare<[string], { epoch: number; data: Buffer }>(
        'SELECT epoch, data FROM folder_lineage WHERE folder_id = ? ORDER BY epoch',
      ),
      profile: db.prepare<[string], { profile_version: number; profile: Buffer | null }>(
        'SELECT profile_version, profile FROM folders WHERE folder_id = ?',
      ),
      // The primary key (folder_id, record_id, version) bounds this to one folder's versions.
      blobVersions: db.prepare<[string, string], { record_id: string; version: number }>(
        `SELECT record_id, version FROM record_versions WHERE folder_id = ? AND blob_id = ?
         ORDER BY record_id, version`,
      ),
    };
  }

  /** Inserts a grant with its scope and key wraps (call inside the route's transaction). */
  insert(g: NewGrant): void {
    const s = this.#s;
    s.insert.run(
      g.grantId,
      g.practitionerId,
      g.agentId,
      g.rights,
      g.notBefore,
      g.expiresAt,
      g.data,
      g.privateWrap,
      g.now,
    );
    for (const x of g.scope) s.insertScope.run(g.grantId, x.folderId, x.recordId);
    for (const w of g.wraps) {
      s.insertWrap.run(g.grantId, w.folderId, w.recordId, w.version, w.epoch, w.wrap);
    }
  }

  /** A grant, whoever may see it. */
  get(grantId: string): GrantRow | undefined {
    return this.#s.get.get(grantId);
  }

  /** Is this grant id taken? */
  exists(grantId: string): boolean {
    return this.#s.exists.get(grantId) !== undefined;
  }

  /** Grants where the account is the practitioner or the agent, oldest first. */
  listFor(accountId: string): GrantRow[] {
    return this.#s.listFor.all(accountId, accountId);
  }

  /** Key wrap metadata (no bytes) of every grant listed by {@link listFor}. */
  wrapInfoFor(accountId: string): KeyWrapInfo[] {
    return this.#s.wrapInfoFor.all(accountId, accountId);
  }

  /** Key wrap metadata (no bytes) of one grant. */
  wrapInfo(grantId: string): KeyWrapInfo[] {
    return this.#s.wrapInfo.all(grantId);
  }

  /** Key wraps of one grant, with their bytes (the agent's key fetch). */
  wraps(grantId: string): KeyWrapRow[] {
    return this.#s.wraps.all(grantId);
  }

  /** Scope rows of a grant. */
  scope(grantId: string): ScopeRow[] {
    return this.#s.scope.all(grantId);
  }

  /**
   * The grant's scope within one folder: `'folder'` for the whole folder, the set of
   * in-scope record ids for a record scope, or undefined if the folder is outside it.
   */
  folderScope(grantId: string, folderId: string): 'folder' | Set<string> | undefined {
    const rows = this.#s.scopeOfFolder.all(grantId, folderId);
    if (rows.length === 0) return undefined;
    if (rows.some((r) => r.record_id === '')) return 'folder';
    return new Set(rows.map((r) => r.record_id));
  }

  /** Marks a grant revoked (and its end as logged: revocation is its end event). */
  revoke(grantId: string, now: number): void {
    this.#s.revoke.run(now, grantId);
  }

  /** Version numbers and epochs of a record (empty if it does not exist). */
  versionEpochs(folderId: string, recordId: string): { version: number; epoch: number }[] {
    return this.#s.versionEpochs.all(folderId, recordId);
  }

  /** Every lineage object of a folder, by epoch (what an agent needs next to its folder key). */
  lineage(folderId: string): { epoch: number; data: Buffer }[] {
    return this.#s.lineage.all(folderId);
  }

  /** A folder's encrypted profile and its version, if it has one. */
  profile(folderId: string): { version: number; data: Buffer } | null {
    const r = this.#s.profile.get(folderId);
    return r?.profile ? { version: r.profile_version, data: r.profile } : null;
  }

  /** Record versions of `folderId` that carry `blobId`. */
  blobVersions(folderId: string, blobId: string): { record_id: string; version: number }[] {
    return this.#s.blobVersions.all(folderId, blobId);
  }

  /**
   * Appends `grant.expired` for every grant that ran out (not revoked) since the last pass, to
   * the same chains as its other end events (see {@link grantChains}), and marks it logged.
   * One transaction per grant. Returns how many grants were logged.
   */
  logExpired(db: Db, now: number): number {
    let n = 0;
    for (const g of this.#s.ended.all(now)) {
      db.transaction(() => {
        for (const chainId of grantChains(g, this.scope(g.grant_id))) {
          appendAudit(db, {
            chainId,
            type: 'grant.expired',
            at: now,
            actorId: null,
            folderId: chainId === g.practitioner_id ? null : chainId,
            grantId: g.grant_id,
            subjectId: g.agent_id,
          });
        }
        this.#s.markEnded.run(g.grant_id);
      })();
      n++;
    }
    return n;
  }
}

/**
 * Chains that record a grant's life: each folder in scope of a read grant, or the
 * practitioner's account chain for an import grant (its scope names a batch, not a folder).
 */
export function grantChains(g: GrantRow, scope: ScopeRow[]): string[] {
  if (g.rights === 'import') return [g.practitioner_id];
  return [...new Set(scope.map((s) => s.folder_id))];
}
