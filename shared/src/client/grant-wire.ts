/**
 * The relay's support-grant endpoints (docs/api-grants.md): typed requests and decoding of
 * their answers. Nothing here is trusted: the grant bytes, manifests, wraps and record versions
 * decoded here are verified by grants.ts and grant-read.ts before anything in them is used.
 */
import {
  isId,
  type AccountId,
  type BlobId,
  type FolderId,
  type GrantId,
  type RecordId,
} from '../ids';
import type { RelayHttp } from './http';
import type { SignedRecord } from './records';
import {
  arr,
  b64,
  bytes,
  id,
  int,
  obj,
  opt,
  str,
  wireManifest,
  wireRecord,
  wireVersion,
  type Obj,
  type WireManifest,
  type WireRecord,
  type WireVersion,
} from './wire';
import { CarnetError } from '../errors';

/** Status of a grant as the relay computes it from its clock (never trusted for access). */
export type GrantStatus = 'scheduled' | 'active' | 'expired' | 'revoked';

/** Which key a grant wrap holds: a folder key (no record) or one version's data key. */
export interface GrantWrapRef {
  folderId: FolderId;
  recordId: RecordId | null;
  version: number | null;
  epoch: number;
}

/** A key wrapped to the grant key, as sent to the relay and served to the agent. */
export interface GrantWrap extends GrantWrapRef {
  wrap: Uint8Array;
}

/** A grant as the relay lists it. The signed `grant` bytes are the only truth. */
export interface GrantEntry {
  grantId: GrantId;
  practitionerId: AccountId;
  agentId: AccountId;
  rights: 'read' | 'import';
  notBefore: number;
  expiresAt: number;
  createdAt: number;
  revokedAt: number | null;
  status: GrantStatus;
  grant: Uint8Array;
  keyWraps: GrantWrapRef[];
}

/** A folder as the agent sees it within a grant. */
export interface GrantFolderWire {
  folderId: FolderId;
  ownerId: AccountId;
  epoch: number;
  manifest: WireManifest;
  lineage: { epoch: number; data: Uint8Array }[];
  profile: { version: number; data: Uint8Array } | undefined;
}

/** One audit event of a grant, as `GET /grants/:id/audit` serves it. */
export interface GrantAuditWire {
  chainId: string;
  seq: number;
  at: number;
  type: string;
  actorId: AccountId | null;
  folderId: FolderId | null;
  recordId: RecordId | null;
  version: number | null;
  grantId: GrantId | null;
  blobId: BlobId | null;
  subjectId: AccountId | null;
  signed: Uint8Array | null;
}

/** A batch rotation entry (`POST /rotations`). */
export interface RotationOut {
  folderId: FolderId;
  expectedSeq: number;
  seq: number;
  epoch: number;
  manifest: Uint8Array;
  members: { accountId: AccountId; role: 'owner' | 'editor' | 'reader' }[];
  wraps: { accountId: AccountId; epoch: number; wrap: Uint8Array }[];
  lineage: Uint8Array;
  profile?: { expectedVersion: number; data: Uint8Array };
}

function bad(what: string): CarnetError {
  return new CarnetError('FORMAT', `The relay's answer is malformed (${what}).`);
}

function nullableId<T extends AccountId | FolderId | RecordId | BlobId | GrantId>(
  o: Obj,
  k: string,
): T | null {
  const v = o[k];
  if (v === null || v === undefined) return null;
  if (!isId(v)) throw bad(k);
  return v as T;
}

function grantId(o: Obj, k: string): GrantId {
  const v = o[k];
  if (!isId(v)) throw bad(k);
  return v as GrantId;
}

function nullableInt(o: Obj, k: string): number | null {
  return o[k] === null || o[k] === undefined ? null : int(o, k);
}

function wrapRef(v: unknown): GrantWrapRef {
  const o = obj(v, 'keyWraps');
  return {
    folderId: id<FolderId>(o, 'folderId'),
    recordId: nullableId<RecordId>(o, 'recordId'),
    version: nullableInt(o, 'version'),
    epoch: int(o, 'epoch'),
  };
}

/** Decodes a {@link GrantEntry}. */
export function grantEntry(v: unknown): GrantEntry {
  const o = obj(v, 'grant');
  const rights = str(o, 'rights');
  if (rights !== 'read' && rights !== 'import') throw bad('rights');
  const status = str(o, 'status');
  if (status !== 'scheduled' && status !== 'active' && status !== 'expired' && status !== 'revoked')
    throw bad('status');
  return {
    grantId: grantId(o, 'grantId'),
    practitionerId: id<AccountId>(o, 'practitionerId'),
    agentId: id<AccountId>(o, 'agentId'),
    rights,
    notBefore: int(o, 'notBefore'),
    expiresAt: int(o, 'expiresAt'),
    createdAt: int(o, 'createdAt'),
    revokedAt: nullableInt(o, 'revokedAt'),
    status,
    grant: bytes(o, 'grant'),
    keyWraps: arr(o, 'keyWraps').map(wrapRef),
  };
}

function grantFolder(v: unknown): GrantFolderWire {
  const o = obj(v, 'folder');
  return {
    folderId: id<FolderId>(o, 'folderId'),
    ownerId: id<AccountId>(o, 'ownerId'),
    epoch: int(o, 'epoch'),
    manifest: wireManifest(o.manifest),
    lineage: arr(o, 'lineage').map((x) => {
      const l = obj(x, 'lineage');
      return { epoch: int(l, 'epoch'), data: bytes(l, 'data') };
    }),
    profile: opt(o, 'profile', (p, k) => {
      const po = obj(p[k], 'profile');
      return { version: int(po, 'version'), data: bytes(po, 'data') };
    }),
  };
}

function auditEvent(v: unknown): GrantAuditWire {
  const o = obj(v, 'event');
  return {
    chainId: str(o, 'chainId'),
    seq: int(o, 'seq'),
    at: int(o, 'at'),
    type: str(o, 'type'),
    actorId: nullableId<AccountId>(o, 'actorId'),
    folderId: nullableId<FolderId>(o, 'folderId'),
    recordId: nullableId<RecordId>(o, 'recordId'),
    version: nullableInt(o, 'version'),
    grantId: nullableId<GrantId>(o, 'grantId'),
    blobId: nullableId<BlobId>(o, 'blobId'),
    subjectId: nullableId<AccountId>(o, 'subjectId'),
    signed: o.signed === null || o.signed === undefined ? null : bytes(o, 'signed'),
  };
}

const enc = encodeURIComponent;

/** The grant endpoints, over the SDK's transport. */
export class GrantApi {
  constructor(private readonly http: RelayHttp) {}

  /** `POST /grants`. */
  async create(body: {
    grant: Uint8Array;
    privateWrap: Uint8Array;
    keyWraps: GrantWrap[];
  }): Promise<GrantEntry> {
    return grantEntry(
      await this.http.json('POST', '/grants', {
        grant: b64(body.grant),
        privateWrap: b64(body.privateWrap),
        keyWraps: body.keyWraps.map((w) => ({
          folderId: w.folderId,
          ...(w.recordId === null ? {} : { recordId: w.recordId }),
          ...(w.version === null ? {} : { version: w.version }),
          epoch: w.epoch,
          wrap: b64(w.wrap),
        })),
      }),
    );
  }

  /** `GET /grants`: grants where I am the practitioner or the agent. */
  async list(): Promise<GrantEntry[]> {
    return arr(obj(await this.http.json('GET', '/grants'), 'grants'), 'grants').map(grantEntry);
  }

  /** `GET /grants/:grantId`. */
  async get(grantId: GrantId): Promise<GrantEntry> {
    return grantEntry(await this.http.json('GET', `/grants/${enc(grantId)}`));
  }

  /** `POST /grants/:grantId/revoke`. */
  async revoke(grantId: GrantId): Promise<GrantEntry> {
    return grantEntry(await this.http.json('POST', `/grants/${enc(grantId)}/revoke`));
  }

  /** `GET /grants/:grantId/keys` (agent, while the grant is active). */
  async keys(grantId: GrantId): Promise<{ privateWrap: Uint8Array; keyWraps: GrantWrap[] }> {
    const o = obj(await this.http.json('GET', `/grants/${enc(grantId)}/keys`), 'keys');
    return {
      privateWrap: bytes(o, 'privateWrap'),
      keyWraps: arr(o, 'keyWraps').map((x) => ({
        ...wrapRef(x),
        wrap: bytes(obj(x, 'keyWraps'), 'wrap'),
      })),
    };
  }

  /** `GET /grants/:grantId/folders/:folderId`. */
  async folder(grantId: GrantId, folderId: FolderId): Promise<GrantFolderWire> {
    return grantFolder(
      await this.http.json('GET', `/grants/${enc(grantId)}/folders/${enc(folderId)}`),
    );
  }

  /** `GET /grants/:grantId/folders/:folderId/manifests?after=`. */
  async manifests(grantId: GrantId, folderId: FolderId, after: number): Promise<WireManifest[]> {
    const o = obj(
      await this.http.json(
        'GET',
        `/grants/${enc(grantId)}/folders/${enc(folderId)}/manifests?after=${after}`,
      ),
      'manifests',
    );
    return arr(o, 'manifests').map(wireManifest);
  }

  /** `GET /grants/:grantId/folders/:folderId/records`. */
  async records(grantId: GrantId, folderId: FolderId): Promise<WireRecord[]> {
    const o = obj(
      await this.http.json('GET', `/grants/${enc(grantId)}/folders/${enc(folderId)}/records`),
      'records',
    );
    return arr(o, 'records').map(wireRecord);
  }

  /** `GET /grants/:grantId/folders/:folderId/records/:recordId`: every version. */
  async record(grantId: GrantId, folderId: FolderId, recordId: RecordId): Promise<WireVersion[]> {
    const o = obj(
      await this.http.json(
        'GET',
        `/grants/${enc(grantId)}/folders/${enc(folderId)}/records/${enc(recordId)}`,
      ),
      'record',
    );
    return arr(o, 'versions').map(wireVersion);
  }

  /** `GET /grants/:grantId/blobs/:blobId`. */
  blob(grantId: GrantId, blobId: BlobId): Promise<ReadableStream<Uint8Array>> {
    return this.http.download(`/grants/${enc(grantId)}/blobs/${enc(blobId)}`);
  }

  /** `POST /grants/:grantId/viewed` with a client-signed event. */
  async viewed(grantId: GrantId, event: Uint8Array): Promise<void> {
    await this.http.json('POST', `/grants/${enc(grantId)}/viewed`, { event: b64(event) });
  }

  /**
   * `GET /grants/:grantId/audit?after=`: the grant's events across chains (practitioner), and
   * the cursor to continue from.
   */
  async audit(
    grantId: GrantId,
    after: string | undefined,
  ): Promise<{ events: GrantAuditWire[]; next: string | undefined }> {
    const q = after === undefined ? '' : `?after=${enc(after)}`;
    const o = obj(await this.http.json('GET', `/grants/${enc(grantId)}/audit${q}`), 'audit');
    const events = arr(o, 'events').map(auditEvent);
    return { events, next: typeof o.cursor === 'string' ? o.cursor : undefined };
  }

  /**
   * `POST /rotations/records`: the signed version objects and the manifests of up to 200
   * folders I own.
   */
  async recordVersions(
    folderIds: readonly FolderId[],
  ): Promise<Map<FolderId, { records: SignedRecord[]; manifests: WireManifest[] }>> {
    const o = obj(
      await this.http.json('POST', '/rotations/records', { folderIds }),
      'rotations/records',
    );
    const out = new Map<FolderId, { records: SignedRecord[]; manifests: WireManifest[] }>();
    for (const x of arr(o, 'folders')) {
      const f = obj(x, 'folders');
      const records = arr(f, 'records').map((y) => {
        const r = obj(y, 'records');
        return {
          recordId: id<RecordId>(r, 'recordId'),
          versions: arr(r, 'versions').map((z) => {
            const v = obj(z, 'versions');
            return {
              version: int(v, 'version'),
              epoch: int(v, 'epoch'),
              createdAt: int(v, 'createdAt'),
              signed: bytes(v, 'signed'),
            };
          }),
        };
      });
      out.set(id<FolderId>(f, 'folderId'), {
        records,
        manifests: arr(f, 'manifests').map(wireManifest),
      });
    }
    return out;
  }

  /** `POST /rotations`: up to 200 folders rotated in one transaction. */
  async rotate(
    folders: RotationOut[],
  ): Promise<{ folderId: FolderId; seq: number; epoch: number; profileVersion: number | null }[]> {
    const o = obj(
      await this.http.json('POST', '/rotations', {
        folders: folders.map((f) => ({
          folderId: f.folderId,
          expectedSeq: f.expectedSeq,
          seq: f.seq,
          epoch: f.epoch,
          manifest: b64(f.manifest),
          members: f.members,
          wraps: f.wraps.map((w) => ({
            accountId: w.accountId,
            epoch: w.epoch,
            wrap: b64(w.wrap),
          })),
          lineage: b64(f.lineage),
          ...(f.profile
            ? { profile: { expectedVersion: f.profile.expectedVersion, data: b64(f.profile.data) } }
            : {}),
        })),
      }),
      'rotations',
    );
    return arr(o, 'folders').map((x) => {
      const r = obj(x, 'folders');
      return {
        folderId: id<FolderId>(r, 'folderId'),
        seq: int(r, 'seq'),
        epoch: int(r, 'epoch'),
        profileVersion: nullableInt(r, 'profileVersion'),
      };
    });
  }
}
