/**
 * The relay's endpoints (docs/api.md), one method each, with typed arguments and decoded
 * answers. No verification here: callers verify what comes back.
 */
import type { AccountId, BlobId, FolderId, RecordId } from '../ids';
import type { KdfParams } from '../kdf';
import { RelayHttp, type FetchLike } from './http';
import {
  arr,
  b64,
  bytes,
  directoryEntry,
  id,
  int,
  kdfFromWire,
  kdfToWire,
  loginAnswer,
  obj,
  str,
  wireFolder,
  wireInvite,
  wireManifest,
  wireRecord,
  wireVersion,
  type AccountRole,
  type DirectoryEntry,
  type LoginAnswer,
  type WireFolder,
  type WireInvite,
  type WireManifest,
  type WireRecord,
  type WireVersion,
} from './wire';

/** Relay-side role of a folder member (access control only; the manifest is the truth). */
export type RelayMemberRole = 'owner' | 'editor' | 'reader';

/** A member wrap to send. */
export interface WrapOut {
  accountId: AccountId;
  epoch: number;
  wrap: Uint8Array;
}

/** A manifest publication (create or update). */
export interface ManifestOut {
  seq: number;
  epoch: number;
  manifest: Uint8Array;
  members: { accountId: AccountId; role: RelayMemberRole }[];
  wraps: WrapOut[];
}

/** A record version to send. */
export interface VersionOut {
  version: number;
  epoch: number;
  header: Uint8Array;
  signed: Uint8Array;
  dataKey: Uint8Array;
  blobId?: BlobId;
}

const enc = encodeURIComponent;

/** Typed access to every relay endpoint the SDK uses. */
export class RelayApi {
  readonly http: RelayHttp;

  constructor(relayUrl: string, fetchImpl: FetchLike) {
    this.http = new RelayHttp(relayUrl, fetchImpl);
  }

  // --- accounts -------------------------------------------------------------------------------

  /** `POST /accounts`. */
  async register(body: {
    accountId: AccountId;
    userName: string;
    role: AccountRole;
    keyBundle: Uint8Array;
    authKey: Uint8Array;
    kdf: KdfParams;
    keyring: Uint8Array;
    recovery: { authKey: Uint8Array; keyring: Uint8Array };
  }): Promise<LoginAnswer> {
    return loginAnswer(
      await this.http.json('POST', '/accounts', {
        accountId: body.accountId,
        userName: body.userName,
        role: body.role,
        keyBundle: b64(body.keyBundle),
        authKey: b64(body.authKey),
        kdf: kdfToWire(body.kdf),
        keyring: b64(body.keyring),
        recovery: { authKey: b64(body.recovery.authKey), keyring: b64(body.recovery.keyring) },
      }),
    );
  }

  /** `POST /auth/prelogin`. */
  async prelogin(userName: string): Promise<KdfParams> {
    return kdfFromWire(
      obj(await this.http.json('POST', '/auth/prelogin', { userName }), 'prelogin').kdf,
    );
  }

  /** `POST /auth/login`. */
  async login(userName: string, authKey: Uint8Array): Promise<LoginAnswer> {
    return loginAnswer(
      await this.http.json('POST', '/auth/login', { userName, authKey: b64(authKey) }),
    );
  }

  /** `POST /auth/recover`. */
  async recover(userName: string, recoveryAuthKey: Uint8Array): Promise<LoginAnswer> {
    return loginAnswer(
      await this.http.json('POST', '/auth/recover', {
        userName,
        recoveryAuthKey: b64(recoveryAuthKey),
      }),
    );
  }

  /** `PUT /auth/password`. */
  async setPassword(body: {
    currentAuthKey?: Uint8Array;
    authKey: Uint8Array;
    kdf: KdfParams;
    keyring: Uint8Array;
    recovery?: { authKey: Uint8Array; keyring: Uint8Array };
  }): Promise<void> {
    await this.http.json('PUT', '/auth/password', {
      ...(body.currentAuthKey ? { currentAuthKey: b64(body.currentAuthKey) } : {}),
      authKey: b64(body.authKey),
      kdf: kdfToWire(body.kdf),
      keyring: b64(body.keyring),
      ...(body.recovery
        ? { recovery: { authKey: b64(body.recovery.authKey), keyring: b64(body.recovery.keyring) } }
        : {}),
    });
  }

  /** `POST /auth/logout`. */
  async logout(): Promise<void> {
    await this.http.json('POST', '/auth/logout');
  }

  /** `GET /accounts/me`. */
  async me(): Promise<{
    accountId: AccountId;
    userName: string;
    keyBundle: Uint8Array;
    kdf: KdfParams;
    keyring: Uint8Array;
    usage: { usedBytes: number; quotaBytes: number };
  }> {
    const o = obj(await this.http.json('GET', '/accounts/me'), 'me');
    const u = obj(o.usage, 'usage');
    return {
      accountId: id<AccountId>(o, 'accountId'),
      userName: str(o, 'userName'),
      keyBundle: bytes(o, 'keyBundle'),
      kdf: kdfFromWire(o.kdf),
      keyring: bytes(o, 'keyring'),
      usage: { usedBytes: int(u, 'usedBytes'), quotaBytes: int(u, 'quotaBytes') },
    };
  }

  /** `GET /directory/by-name/:userName`. */
  async directoryByName(userName: string): Promise<DirectoryEntry> {
    return directoryEntry(await this.http.json('GET', `/directory/by-name/${enc(userName)}`));
  }

  /** `GET /directory/:accountId`. */
  async directoryById(accountId: AccountId): Promise<DirectoryEntry> {
    return directoryEntry(await this.http.json('GET', `/directory/${enc(accountId)}`));
  }

  // --- folders --------------------------------------------------------------------------------

  /** `POST /folders`. */
  async createFolder(folderId: FolderId, m: ManifestOut, profile: Uint8Array): Promise<WireFolder> {
    return wireFolder(
      await this.http.json('POST', '/folders', {
        folderId,
        ...manifestBody(m),
        profile: b64(profile),
      }),
    );
  }

  /** `GET /folders`, every page. */
  async listFolders(): Promise<WireFolder[]> {
    const out: WireFolder[] = [];
    let after: string | undefined;
    for (;;) {
      const q = after === undefined ? '' : `&after=${enc(after)}`;
      const o = obj(await this.http.json('GET', `/folders?limit=2000${q}`), 'folders');
      out.push(...arr(o, 'folders').map(wireFolder));
      if (o.next === null || o.next === undefined) return out;
      const next = str(o, 'next');
      // A relay that pages backwards or in place would loop us forever.
      if (after !== undefined && next <= after) return out;
      after = next;
    }
  }

  /** `GET /folders/:folderId`. */
  async getFolder(folderId: FolderId): Promise<WireFolder> {
    return wireFolder(await this.http.json('GET', `/folders/${enc(folderId)}`));
  }

  /** `GET /folders/:folderId/manifests?after=`. */
  async manifests(folderId: FolderId, after: number): Promise<WireManifest[]> {
    const o = obj(
      await this.http.json('GET', `/folders/${enc(folderId)}/manifests?after=${after}`),
      'manifests',
    );
    return arr(o, 'manifests').map(wireManifest);
  }

  /** `PUT /folders/:folderId/manifest`. */
  async putManifest(
    folderId: FolderId,
    expectedSeq: number,
    m: ManifestOut,
    lineage?: Uint8Array,
  ): Promise<WireFolder> {
    return wireFolder(
      await this.http.json('PUT', `/folders/${enc(folderId)}/manifest`, {
        expectedSeq,
        ...manifestBody(m),
        ...(lineage ? { lineage: b64(lineage) } : {}),
      }),
    );
  }

  /** `PUT /folders/:folderId/profile`; resolves with the new version. */
  async putProfile(folderId: FolderId, expectedVersion: number, data: Uint8Array): Promise<number> {
    const o = obj(
      await this.http.json('PUT', `/folders/${enc(folderId)}/profile`, {
        expectedVersion,
        data: b64(data),
      }),
      'profile',
    );
    return int(o, 'version');
  }

  /** `DELETE /folders/:folderId`. */
  async deleteFolder(folderId: FolderId): Promise<void> {
    await this.http.json('DELETE', `/folders/${enc(folderId)}`);
  }

  // --- records and blobs ----------------------------------------------------------------------

  /** `POST /folders/:folderId/records/:recordId/versions`. */
  async postVersion(folderId: FolderId, recordId: RecordId, v: VersionOut): Promise<WireVersion> {
    return wireVersion(
      await this.http.json('POST', `/folders/${enc(folderId)}/records/${enc(recordId)}/versions`, {
        version: v.version,
        epoch: v.epoch,
        header: b64(v.header),
        signed: b64(v.signed),
        dataKey: b64(v.dataKey),
        ...(v.blobId ? { blobId: v.blobId } : {}),
      }),
    );
  }

  /** `GET /folders/:folderId/records`. */
  async listRecords(folderId: FolderId): Promise<WireRecord[]> {
    const o = obj(await this.http.json('GET', `/folders/${enc(folderId)}/records`), 'records');
    return arr(o, 'records').map(wireRecord);
  }

  /** `GET /folders/:folderId/records/:recordId`: every version, oldest first. */
  async getRecord(folderId: FolderId, recordId: RecordId): Promise<WireVersion[]> {
    const o = obj(
      await this.http.json('GET', `/folders/${enc(folderId)}/records/${enc(recordId)}`),
      'record',
    );
    return arr(o, 'versions').map(wireVersion);
  }

  /** `POST /blobs`; resolves with the relay's id, size and SHA-256 of what it stored. */
  async uploadBlob(
    body: ReadableStream<Uint8Array> | Uint8Array,
    digest?: Uint8Array,
  ): Promise<{ blobId: BlobId; size: number; sha256: Uint8Array }> {
    const o = obj(await this.http.upload('/blobs', body, digest), 'blob');
    return { blobId: id<BlobId>(o, 'blobId'), size: int(o, 'size'), sha256: bytes(o, 'sha256') };
  }

  /** `GET /blobs/:blobId`. */
  downloadBlob(blobId: BlobId): Promise<ReadableStream<Uint8Array>> {
    return this.http.download(`/blobs/${enc(blobId)}`);
  }

  /** `DELETE /blobs/:blobId`. */
  async deleteBlob(blobId: BlobId): Promise<void> {
    await this.http.json('DELETE', `/blobs/${enc(blobId)}`);
  }

  // --- invites --------------------------------------------------------------------------------

  /** `POST /folders/:folderId/invites`. */
  async createInvite(
    folderId: FolderId,
    body: { lookupId: string; sealedKey: Uint8Array; expiresAt: number; role: 'editor' | 'reader' },
  ): Promise<{ inviteId: string; expiresAt: number }> {
    const o = obj(
      await this.http.json('POST', `/folders/${enc(folderId)}/invites`, {
        lookupId: body.lookupId,
        sealedKey: b64(body.sealedKey),
        expiresAt: body.expiresAt,
        role: body.role,
      }),
      'invite',
    );
    return { inviteId: str(o, 'inviteId'), expiresAt: int(o, 'expiresAt') };
  }

  /** `GET /invites/:lookupId`. */
  async getInvite(lookupId: string): Promise<{
    folderId: FolderId;
    inviterId: AccountId;
    sealedKey: Uint8Array;
    epoch: number | undefined;
  }> {
    const o = obj(await this.http.json('GET', `/invites/${enc(lookupId)}`), 'invite');
    return {
      folderId: id<FolderId>(o, 'folderId'),
      inviterId: id<AccountId>(o, 'inviterId'),
      sealedKey: bytes(o, 'sealedKey'),
      // Not in docs/api.md yet; used when a relay sends it, else the client searches.
      epoch: typeof o.epoch === 'number' ? int(o, 'epoch') : undefined,
    };
  }

  /** `POST /invites/:lookupId/accept`. */
  async acceptInvite(lookupId: string, response: Uint8Array): Promise<FolderId> {
    const o = obj(
      await this.http.json('POST', `/invites/${enc(lookupId)}/accept`, { response: b64(response) }),
      'accept',
    );
    return id<FolderId>(o, 'folderId');
  }

  /** `GET /folders/:folderId/invites`. */
  async listInvites(folderId: FolderId): Promise<WireInvite[]> {
    const o = obj(await this.http.json('GET', `/folders/${enc(folderId)}/invites`), 'invites');
    return arr(o, 'invites').map(wireInvite);
  }

  /** `DELETE /folders/:folderId/invites/:inviteId`. */
  async deleteInvite(folderId: FolderId, inviteId: string): Promise<void> {
    await this.http.json('DELETE', `/folders/${enc(folderId)}/invites/${enc(inviteId)}`);
  }
}

function manifestBody(m: ManifestOut): Record<string, unknown> {
  return {
    seq: m.seq,
    epoch: m.epoch,
    manifest: b64(m.manifest),
    members: m.members,
    wraps: m.wraps.map((w) => ({ accountId: w.accountId, epoch: w.epoch, wrap: b64(w.wrap) })),
  };
}
