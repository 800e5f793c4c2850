/**
 * The relay's schema, as an ordered list of migrations. A migration is never edited once
 * shipped: a change is a new entry at the end. Every column is described in
 * `docs/metadata.md`, and a test keeps the two in step.
 */

/** One schema step. `version` numbers are consecutive, starting at 1. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** All migrations, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('practitioner', 'patient', 'support')),
        key_bundle BLOB NOT NULL,
        auth_key_hash BLOB NOT NULL,
        kdf_algorithm TEXT NOT NULL,
        kdf_memory_kib INTEGER NOT NULL,
        kdf_iterations INTEGER NOT NULL,
        kdf_parallelism INTEGER NOT NULL,
        kdf_salt BLOB NOT NULL,
        keyring_password BLOB NOT NULL,
        recovery_auth_key_hash BLOB NOT NULL,
        keyring_recovery BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        via_recovery INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_account ON sessions(account_id);

      CREATE TABLE folders (
        folder_id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES accounts(account_id),
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        profile_version INTEGER NOT NULL,
        profile BLOB,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE folder_manifests (
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, seq)
      );

      CREATE TABLE folder_members (
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'reader', 'pending')),
        PRIMARY KEY (folder_id, account_id)
      ) WITHOUT ROWID;
      CREATE INDEX folder_members_by_account ON folder_members(account_id, folder_id);

      CREATE TABLE member_wraps (
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        epoch INTEGER NOT NULL,
        wrap BLOB NOT NULL,
        PRIMARY KEY (folder_id, account_id, epoch)
      );

      CREATE TABLE folder_lineage (
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (folder_id, epoch)
      );

      CREATE TABLE blobs (
        blob_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        folder_id TEXT REFERENCES folders(folder_id),
        size INTEGER NOT NULL,
        sha256 BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Covering: the quota sum reads the index only.
      CREATE INDEX blobs_by_account ON blobs(account_id, size);
      CREATE INDEX blobs_by_folder ON blobs(folder_id);

      CREATE TABLE record_versions (
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        record_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        header BLOB NOT NULL,
        signed BLOB NOT NULL,
        data_key BLOB NOT NULL,
        blob_id TEXT REFERENCES blobs(blob_id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, record_id, version)
      );

      CREATE TABLE invites (
        invite_id TEXT PRIMARY KEY,
        lookup_hash BLOB NOT NULL UNIQUE,
        folder_id TEXT NOT NULL REFERENCES folders(folder_id) ON DELETE CASCADE,
        inviter_id TEXT NOT NULL REFERENCES accounts(account_id),
        role TEXT NOT NULL CHECK (role IN ('editor', 'reader')),
        sealed_key BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        invitee_id TEXT REFERENCES accounts(account_id),
        accepted_at INTEGER,
        response BLOB
      );
      CREATE INDEX invites_by_folder ON invites(folder_id);
    `,
  },
  {
    version: 2,
    name: 'support grants, staged imports, audit trail, deletion tombstones',
    sql: `
      CREATE TABLE grants (
        grant_id TEXT PRIMARY KEY,
        practitioner_id TEXT NOT NULL REFERENCES accounts(account_id),
        agent_id TEXT NOT NULL REFERENCES accounts(account_id),
        rights TEXT NOT NULL CHECK (rights IN ('read', 'import')),
        not_before INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        data BLOB NOT NULL,
        private_wrap BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        ended_logged INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX grants_by_practitioner ON grants(practitioner_id);
      CREATE INDEX grants_by_agent ON grants(agent_id);
      CREATE INDEX grants_by_expiry ON grants(ended_logged, expires_at);

      -- record_id is '' for a whole folder.
      CREATE TABLE grant_scope (
        grant_id TEXT NOT NULL REFERENCES grants(grant_id) ON DELETE CASCADE,
        folder_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        PRIMARY KEY (grant_id, folder_id, record_id)
      ) WITHOUT ROWID;
      CREATE INDEX grant_scope_by_folder ON grant_scope(folder_id);

      -- A folder key (record_id '', version 0) or a data key wrapped to the grant key.
      CREATE TABLE grant_key_wraps (
        grant_id TEXT NOT NULL REFERENCES grants(grant_id) ON DELETE CASCADE,
        folder_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        wrap BLOB NOT NULL,
        PRIMARY KEY (grant_id, folder_id, record_id, version)
      );

      CREATE TABLE imports (
        import_id TEXT PRIMARY KEY,
        grant_id TEXT NOT NULL REFERENCES grants(grant_id),
        agent_id TEXT NOT NULL REFERENCES accounts(account_id),
        practitioner_id TEXT NOT NULL REFERENCES accounts(account_id),
        created_at INTEGER NOT NULL
      );
      CREATE INDEX imports_by_practitioner ON imports(practitioner_id);

      CREATE TABLE import_items (
        import_id TEXT NOT NULL REFERENCES imports(import_id) ON DELETE CASCADE,
        item INTEGER NOT NULL,
        signed BLOB NOT NULL,
        key_wrap BLOB NOT NULL,
        header BLOB NOT NULL,
        blob_id TEXT REFERENCES blobs(blob_id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (import_id, item)
      );
      CREATE INDEX import_items_by_blob ON import_items(blob_id) WHERE blob_id IS NOT NULL;

      -- One hash chain per folder (chain_id = folder id) and per account (account id).
      CREATE TABLE audit_events (
        chain_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        actor_id TEXT,
        folder_id TEXT,
        record_id TEXT,
        version INTEGER,
        grant_id TEXT,
        blob_id TEXT,
        subject_id TEXT,
        signed BLOB,
        prev_hash BLOB NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (chain_id, seq)
      );
      CREATE INDEX audit_by_grant ON audit_events(grant_id, at) WHERE grant_id IS NOT NULL;

      CREATE TABLE audit_heads (
        chain_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL
      );

      -- Former members of a deleted folder learn that it was deleted, and when.
      CREATE TABLE folder_tombstones (
        folder_id TEXT NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,
        deleted_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, account_id)
      ) WITHOUT ROWID;
      CREATE INDEX folder_tombstones_by_account ON folder_tombstones(account_id);
    `,
  },
];
