/**
 * Decoding of the relay's JSON answers (docs/api.md) into typed values with bytes. A relay is
 * untrusted: an answer of the wrong shape is a `FORMAT` error here, before any cryptographic
 * check runs on its content.
 */
import { fromBase64url, toBase64url } from '../bytes';
import { CarnetError } from '../errors';
import { isId, type AccountId, type BlobId, type FolderId, type RecordId } from '../ids';
import type { KdfParams } from '../kdf';

/** A JSON object from the relay. */
export type Obj = Record<string, unknown>;

function bad(what: string): CarnetError {
  return new CarnetError('FORMAT', `The relay's answer is malformed (${what}).`);
}

/** `v` as an object, else `FORMAT`. */
export function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what);
  return v as Obj;
}

/** `o[k]` as a string. */
export function str(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw bad(k);
  return v;
}

/** `o[k]` as a non-negative safe integer. */
export function int(o: Obj, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(k);
  return v;
}

/** `o[k]` as base64url bytes. */
export function bytes(o: Obj, k: string): Uint8Array {
  const v = str(o, k);
  try {
    return fromBase64url(v);
  } catch {
    throw bad(k);
  }
}

/** `o[k]` as an id of the given brand. */
export function id<T extends AccountId | FolderId | RecordId | BlobId>(o: Obj, k: string): T {
  const v = o[k];
  if (!isId(v)) throw bad(k);
  return v as T;
}

/** `o[k]` as an array. */
export function arr(o: Obj, k: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(k);
  return v;
}

/** `o[k]` mapped through `f`, or `undefined` when absent or null. */
export function opt<T>(o: Obj, k: string, f: (o: Obj, k: string) => T): T | undefined {
  return o[k] === undefined || o[k] === null ? undefined : f(o, k);
}

/** Bytes to the wire form. */
export const b64 = toBase64url;

/** KDF parameters to the wire form. */
export function kdfToWire(p: KdfParams): Obj {
  return {
    algorithm: p.alg,
    memoryKiB: p.memoryKiB,
    iterations: p.iterations,
    parallelism: p.parallelism,
    salt: b64(p.salt),
  };
}

/** KDF parameters from the wire form (bounds are checked later by the core). */
export function kdfFromWire(v: unknown): KdfParams {
  const o = obj(v, 'kdf');
  if (o.algorithm !== 'argon2id') throw bad('kdf.algorithm');
  return {
    alg: 'argon2id',
    memoryKiB: int(o, 'memoryKiB'),
    iterations: int(o, 'iterations'),
    parallelism: int(o, 'parallelism'),
    salt: bytes(o, 'salt'),
  };
}

/** Account roles the relay knows. */
export type AccountRole = 'practitioner' | 'patient' | 'support';

/** `o[k]` as an account role. */
export function accountRole(o: Obj, k: string): AccountRole {
  const v = str(o, k);
  if (v !== 'practitioner' && v !== 'patient' && v !== 'support') throw bad(k);
  return v;
}

/** The answer of register, login and recover. */
export interface LoginAnswer {
  accountId: AccountId;
  userName: string;
  role: AccountRole;
  keyBundle: Uint8Array;
  kdf: KdfParams;
  keyring: Uint8Array;
  session: { token: string; expiresAt: number };
}

/** Decodes a {@link LoginAnswer}. */
export function loginAnswer(v: unknown): LoginAnswer {
  const o = obj(v, 'login');
  const s = obj(o.session, 'session');
  return {
    accountId: id<AccountId>(o, 'accountId'),
    userName: str(o, 'userName'),
    role: accountRole(o, 'role'),
    keyBundle: bytes(o, 'keyBundle'),
    kdf: kdfFromWire(o.kdf),
    keyring: bytes(o, 'keyring'),
    session: { token: str(s, 'token'), expiresAt: int(s, 'expiresAt') },
  };
}

/** A directory entry: someone's published key bundle. */
export interface DirectoryEntry {
  accountId: AccountId;
  userName: string;
  role: AccountRole;
  keyBundle: Uint8Array;
}

/** Decodes a {@link DirectoryEntry}. */
export function directoryEntry(v: unknown): DirectoryEntry {
  const o = obj(v, 'directory');
  return {
    accountId: id<AccountId>(o, 'accountId'),
    userName: str(o, 'userName'),
    role: accountRole(o, 'role'),
    keyBundle: bytes(o, 'keyBundle'),
  };
}

/** One signed manifest as stored. */
export interface WireManifest {
  seq: number;
  epoch: number;
  data: Uint8Array;
}

/** Decodes a {@link WireManifest}. */
export function wireManifest(v: unknown): WireManifest {
  const o = obj(v, 'manifest');
  return { seq: int(o, 'seq'), epoch: int(o, 'epoch'), data: bytes(o, 'data') };
}

/** A folder as the relay lists it. Member fields are absent for a pending invitee. */
export interface WireFolder {
  folderId: FolderId;
  ownerId: AccountId;
  status: 'member' | 'pending';
  manifest?: WireManifest;
  /** My wraps, by epoch. */
  wraps: { epoch: number; wrap: Uint8Array }[];
  lineage: { epoch: number; data: Uint8Array }[];
  profile?: { version: number; data: Uint8Array };
}

/** Decodes a {@link WireFolder}. */
export function wireFolder(v: unknown): WireFolder {
  const o = obj(v, 'folder');
  const status = str(o, 'status');
  if (status !== 'member' && status !== 'pending') throw bad('status');
  const base = { folderId: id<FolderId>(o, 'folderId'), ownerId: id<AccountId>(o, 'ownerId') };
  if (status === 'pending') return { ...base, status, wraps: [], lineage: [] };
  const epochData = (x: unknown, k: string): { epoch: number; data: Uint8Array } => {
    const e = obj(x, 'lineage');
    return { epoch: int(e, 'epoch'), data: bytes(e, k) };
  };
  return {
    ...base,
    status,
    manifest: wireManifest(o.manifest),
    wraps: arr(o, 'wraps').map((x) => {
      const { epoch, data } = epochData(x, 'wrap');
      return { epoch, wrap: data };
    }),
    lineage: arr(o, 'lineage').map((x) => epochData(x, 'data')),
    profile: opt(o, 'profile', (p, k) => {
      const po = obj(p[k], 'profile');
      return { version: int(po, 'version'), data: bytes(po, 'data') };
    }),
  };
}

/** A record version as stored. */
export interface WireVersion {
  version: number;
  epoch: number;
  createdAt: number;
  header: Uint8Array;
  signed: Uint8Array;
  dataKey: Uint8Array;
  blobId: BlobId | undefined;
}

/** Decodes a {@link WireVersion}. */
export function wireVersion(v: unknown): WireVersion {
  const o = obj(v, 'version');
  return {
    version: int(o, 'version'),
    epoch: int(o, 'epoch'),
    createdAt: int(o, 'createdAt'),
    header: bytes(o, 'header'),
    signed: bytes(o, 'signed'),
    dataKey: bytes(o, 'dataKey'),
    blobId: opt(o, 'blobId', (x, k) => id<BlobId>(x, k)),
  };
}

/** A record in the folder's record list: its latest version and every signed version. */
export interface WireRecord {
  recordId: RecordId;
  latest: WireVersion;
  versions: { version: number; epoch: number; createdAt: number; signed: Uint8Array }[];
}

/** Decodes a {@link WireRecord}. */
export function wireRecord(v: unknown): WireRecord {
  const o = obj(v, 'record');
  return {
    recordId: id<RecordId>(o, 'recordId'),
    latest: wireVersion(o.latest),
    versions: arr(o, 'versions').map((x) => {
      const s = obj(x, 'versions');
      return {
        version: int(s, 'version'),
        epoch: int(s, 'epoch'),
        createdAt: int(s, 'createdAt'),
        signed: bytes(s, 'signed'),
      };
    }),
  };
}

/** An invite as its owner lists it. */
export interface WireInvite {
  inviteId: string;
  status: 'open' | 'accepted';
  inviteeId: AccountId | undefined;
  response: Uint8Array | undefined;
  expiresAt: number;
}

/** Decodes a {@link WireInvite}. */
export function wireInvite(v: unknown): WireInvite {
  const o = obj(v, 'invite');
  const status = str(o, 'status');
  if (status !== 'open' && status !== 'accepted') throw bad('invite.status');
  return {
    inviteId: str(o, 'inviteId'),
    status,
    inviteeId: opt(o, 'inviteeId', (x, k) => id<AccountId>(x, k)),
    response: opt(o, 'response', bytes),
    expiresAt: int(o, 'expiresAt'),
  };
}
