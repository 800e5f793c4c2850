/**
 * The relay's import endpoints (docs/api-grants.md, "Imports"): typed requests and decoding of
 * their answers. Nothing decoded here is trusted: imports.ts verifies the grant and every
 * signed item before opening anything.
 */
import { CarnetError } from '../errors';
import { isId, type AccountId, type BlobId, type FolderId, type GrantId } from '../ids';
import type { RelayHttp } from './http';
import { arr, b64, bytes, id, int, obj, opt, type Obj } from './wire';

/** One staged item as the relay lists it to the practitioner. */
export interface WireImportItem {
  item: number;
  signed: Uint8Array;
  keyWrap: Uint8Array;
  header: Uint8Array;
  blobId: BlobId | null;
  /** Size of the stored (encrypted) blob. */
  size: number | null;
  createdAt: number;
}

/** One staged import as the relay lists it to the practitioner. */
export interface WireImport {
  importId: FolderId;
  grantId: GrantId;
  agentId: AccountId;
  createdAt: number;
  /** The signed grant bytes (verified by the client, never trusted as served). */
  grant: Uint8Array;
  items: WireImportItem[];
}

/** An item to stage. */
export interface ImportItemOut {
  item: number;
  signed: Uint8Array;
  keyWrap: Uint8Array;
  header: Uint8Array;
  blobId?: BlobId;
}

function nullable<T>(o: Obj, k: string, f: (o: Obj, k: string) => T): T | null {
  return opt(o, k, f) ?? null;
}

function grantIdOf(o: Obj, k: string): GrantId {
  if (!isId(o[k])) throw new CarnetError('FORMAT', `The relay's answer is malformed (${k}).`);
  return o[k] as GrantId;
}

function wireItem(v: unknown): WireImportItem {
  const o = obj(v, 'item');
  return {
    item: int(o, 'item'),
    signed: bytes(o, 'signed'),
    keyWrap: bytes(o, 'keyWrap'),
    header: bytes(o, 'header'),
    blobId: nullable(o, 'blobId', (x, k) => id<BlobId>(x, k)),
    size: nullable(o, 'size', int),
    createdAt: int(o, 'createdAt'),
  };
}

function wireImport(v: unknown): WireImport {
  const o = obj(v, 'import');
  return {
    importId: id<FolderId>(o, 'importId'),
    grantId: grantIdOf(o, 'grantId'),
    agentId: id<AccountId>(o, 'agentId'),
    createdAt: int(o, 'createdAt'),
    grant: bytes(o, 'grant'),
    items: arr(o, 'items').map(wireItem),
  };
}

const enc = encodeURIComponent;

/** The import endpoints, over the SDK's transport. */
export class ImportApi {
  constructor(private readonly http: RelayHttp) {}

  /** `POST /grants/:grantId/imports` (agent): opens the batch; again is harmless. */
  async open(grantId: GrantId, importId: FolderId): Promise<void> {
    await this.http.json('POST', `/grants/${enc(grantId)}/imports`, { importId });
  }

  /** `POST /grants/:grantId/imports/:importId/items` (agent). */
  async addItem(grantId: GrantId, importId: FolderId, it: ImportItemOut): Promise<void> {
    await this.http.json('POST', `/grants/${enc(grantId)}/imports/${enc(importId)}/items`, {
      item: it.item,
      signed: b64(it.signed),
      keyWrap: b64(it.keyWrap),
      header: b64(it.header),
      ...(it.blobId === undefined ? {} : { blobId: it.blobId }),
    });
  }

  /** `GET /imports` (practitioner): the imports staged for me. */
  async list(): Promise<WireImport[]> {
    return arr(obj(await this.http.json('GET', '/imports'), 'imports'), 'imports').map(wireImport);
  }

  /** `GET /imports/:importId/items/:item/blob` (practitioner): the encrypted content. */
  blob(importId: FolderId, item: number): Promise<ReadableStream<Uint8Array>> {
    return this.http.download(`/imports/${enc(importId)}/items/${item}/blob`);
  }

  /** `DELETE /imports/:importId[?adopted=folderId]` (practitioner). */
  async remove(importId: FolderId, adopted?: FolderId): Promise<void> {
    const q = adopted === undefined ? '' : `?adopted=${enc(adopted)}`;
    await this.http.json('DELETE', `/imports/${enc(importId)}${q}`);
  }
}
