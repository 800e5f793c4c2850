/**
 * Interpreter of the folder, record, manifest, grant and invite vector files
 * (vectors/{folder-keys,record-version,manifest,grant,invite}.v1.json). The generator runs every
 * entry through it before writing (self-check) and the tests run every entry through it again,
 * so both agree on what an entry means.
 *
 * An entry is `{ description, op, input, object?, expected | expected_error }`: `op` names the
 * operation, `input` its arguments (bytes as lower-case hex, ids as text), `object` the bytes
 * under test (hex), `expected` the JSON result (bytes as hex), `expected_error` the
 * CarnetError code it must fail with.
 */
import { vectorFile } from './vector-files';
import { fromHex, toHex } from '../src/bytes';
import type { CarnetErrorCode } from '../src/errors';
import {
  folderKeyCommitment,
  openFolderKeyForAccount,
  openLineage,
  openProfile,
  unwrapFolderKeyAsMember,
  walkLineage,
} from '../src/folder';
import {
  unwrapGrantPrivateKeyAsAgent,
  unwrapKeyAsGrant,
  verifyGrant,
  type GrantCheck,
  type GrantKeyContext,
} from '../src/grant';
import type { AccountId, FolderId, GrantId } from '../src/ids';
import {
  decodeInviteSecret,
  encodeInviteSecret,
  inviteLookupId,
  openFolderKeyFromInvite,
  verifyInviteResponse,
} from '../src/invite';
import { asKey } from '../src/keys';
import type {
  AccountKey,
  DataKey,
  EncryptionPrivateKey,
  FolderKey,
  GrantPrivateKey,
  IdentityPublicKey,
  InviteSecret,
} from '../src/keys';
import {
  manifestHash,
  recordListDigest,
  verifyManifest,
  verifyManifestChain,
  type RecordListEntry,
} from '../src/manifest';
import {
  headerHash,
  openDataKey,
  openRecordHeader,
  recordVersionHash,
  verifyRecordVersion,
  type RecordVersionFields,
} from '../src/record';
import { codeOf } from './folder-helpers';

/** A JSON value as read from a vector file. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One vector entry. */
export interface VectorEntry {
  description: string;
  op: string;
  input: { [k: string]: Json };
  object?: string;
  expected?: Json;
  expected_error?: CarnetErrorCode;
}

/** A vector file. */
export interface VectorFile {
  format: string;
  version: number;
  description: string;
  valid: VectorEntry[];
  invalid: VectorEntry[];
}

/** Replaces every byte array in `v` by its hex, for comparison with a file's `expected`. */
export function toJson(v: unknown): Json {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return v as Json;
}

const hex = (v: Json | undefined): Uint8Array => fromHex(v as string);
const str = <T extends string>(v: Json | undefined): T => v as T;
const num = (v: Json | undefined): number => v as number;

/** Fields of `o` whose values are hex bytes, converted; the rest kept. */
function withBytes<T>(o: Json | undefined, byteFields: readonly string[]): T {
  const src = (o ?? {}) as { [k: string]: Json };
  const out: { [k: string]: unknown } = {};
  for (const [k, v] of Object.entries(src))
    out[k] = byteFields.includes(k) ? fromHex(v as string) : v;
  return out as T;
}

const VERSION_BYTES = ['prevVersionHash', 'headerHash', 'bodyDigest'] as const;

/** Performs an entry's operation and returns its JSON result; throws what the code throws. */
export async function execute(e: VectorEntry): Promise<Json> {
  const i = e.input;
  const obj = (): Uint8Array => fromHex(e.object ?? '');
  switch (e.op) {
    case 'open-account-folder-key':
      return toJson({
        folderKey: openFolderKeyForAccount(
          asKey<AccountKey>(hex(i.accountKey)),
          obj(),
          str(i.folderId),
          num(i.epoch),
        ),
      });
    case 'unwrap-member':
      return toJson({
        folderKey: await unwrapFolderKeyAsMember(
          asKey<EncryptionPrivateKey>(hex(i.recipientPrivateKey)),
          obj(),
          {
            folderId: str(i.folderId),
            epoch: num(i.epoch),
            accountId: str(i.accountId),
          },
        ),
      });
    case 'open-lineage':
      return toJson({
        folderKey: openLineage(
          asKey<FolderKey>(hex(i.newerFolderKey)),
          obj(),
          str(i.folderId),
          num(i.newerEpoch),
        ),
      });
    case 'walk-lineage': {
      const links = i.links as { [epoch: string]: string };
      const keys = await walkLineage(
        asKey<FolderKey>(hex(i.folderKey)),
        num(i.fromEpoch),
        num(i.toEpoch),
        str(i.folderId),
        (epoch) =>
          links[String(epoch)] === undefined ? undefined : fromHex(links[String(epoch)]!),
      );
      return toJson({ folderKey: keys.get(num(i.toEpoch)) });
    }
    case 'folder-key-commitment':
      return toJson({
        commitment: folderKeyCommitment(
          asKey<FolderKey>(hex(i.folderKey)),
          str(i.folderId),
          num(i.epoch),
        ),
      });
    case 'open-profile':
      return toJson({
        profile: openProfile(
          asKey<FolderKey>(hex(i.folderKey)),
          obj(),
          str(i.folderId),
          num(i.epoch),
        ),
      });
    case 'open-data-key':
      return toJson({
        dataKey: openDataKey(asKey<FolderKey>(hex(i.folderKey)), obj(), {
          folderId: str(i.folderId),
          recordId: str(i.recordId),
          version: num(i.version),
          epoch: num(i.epoch),
        }),
      });
    case 'open-record-header': {
      const header = openRecordHeader(asKey<DataKey>(hex(i.dataKey)), obj(), {
        folderId: str(i.folderId),
        recordId: str(i.recordId),
        version: num(i.version),
      });
      return toJson({ header, headerHash: headerHash(obj()) });
    }
    case 'verify-record-version': {
      const expected = withBytes<Partial<RecordVersionFields>>(i.expected, VERSION_BYTES);
      const fields = await verifyRecordVersion(
        asKey<IdentityPublicKey>(hex(i.authorPublicKey)),
        obj(),
        expected,
      );
      return toJson({ fields, versionHash: recordVersionHash(obj()) });
    }
    case 'record-list-digest': {
      const entries = (i.entries as Json[]).map((x) =>
        withBytes<RecordListEntry>(x, ['versionHash']),
      );
      return toJson({ digest: recordListDigest(entries) });
    }
    case 'verify-manifest': {
      const expected = {
        folderId: str<FolderId>(i.folderId),
        ...(i.ownerId ? { ownerId: str<AccountId>(i.ownerId) } : {}),
      };
      const body = await verifyManifest(
        asKey<IdentityPublicKey>(hex(i.ownerPublicKey)),
        obj(),
        expected,
      );
      return toJson({ body, hash: manifestHash(obj()) });
    }
    case 'verify-manifest-chain': {
      const objects = (i.objects as string[]).map(fromHex);
      const bodies = await verifyManifestChain(
        asKey<IdentityPublicKey>(hex(i.ownerPublicKey)),
        objects,
        {
          folderId: str(i.folderId),
        },
      );
      return toJson({ seqs: bodies.map((b) => b.seq) });
    }
    case 'verify-grant': {
      const check = i.check as unknown as GrantCheck;
      return toJson({
        fields: await verifyGrant(
          asKey<IdentityPublicKey>(hex(i.practitionerPublicKey)),
          obj(),
          check,
        ),
      });
    }
    case 'unwrap-grant-key': {
      const ctx = i.context as unknown as GrantKeyContext;
      return toJson({
        key: await unwrapKeyAsGrant(asKey<GrantPrivateKey>(hex(i.grantPrivateKey)), obj(), ctx),
      });
    }
    case 'unwrap-grant-private-key':
      return toJson({
        grantPrivateKey: await unwrapGrantPrivateKeyAsAgent(
          asKey<EncryptionPrivateKey>(hex(i.agentPrivateKey)),
          obj(),
          {
            grantId: str<GrantId>(i.grantId),
            agentId: str<AccountId>(i.agentId),
          },
        ),
      });
    case 'invite-secret': {
      const secret = asKey<InviteSecret>(hex(i.secret));
      return { encoded: encodeInviteSecret(secret), lookupId: inviteLookupId(secret) };
    }
    case 'decode-invite-secret':
      return toJson({ secret: decodeInviteSecret(str(i.encoded)) });
    case 'open-invite-folder-key':
      return toJson({
        folderKey: openFolderKeyFromInvite(asKey<InviteSecret>(hex(i.secret)), obj(), {
          folderId: str(i.folderId),
          epoch: num(i.epoch),
        }),
      });
    case 'verify-invite-response':
      return toJson({
        bundle: verifyInviteResponse(asKey<InviteSecret>(hex(i.secret)), obj(), {
          folderId: str<FolderId>(i.folderId),
        }),
      });
    default:
      throw new Error(`unknown vector op "${e.op}"`);
  }
}

/**
 * Checks one entry: a valid entry must give `expected` exactly, an invalid one must fail with
 * `expected_error`. Returns a description of the disagreement, or undefined.
 */
export async function checkEntry(e: VectorEntry): Promise<string | undefined> {
  if (e.expected_error !== undefined) {
    const code = await codeOf(() => execute(e));
    return code === e.expected_error
      ? undefined
      : `${e.description}: got ${code}, expected ${e.expected_error}`;
  }
  const got = canonical(await execute(e));
  const want = canonical(e.expected ?? null);
  return got === want ? undefined : `${e.description}: got ${got}, expected ${want}`;
}

/** JSON text with sorted keys, so that key order never matters in comparisons. */
function canonical(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k] as Json)}`)
    .join(',')}}`;
}

/** Reads `vectors/<name>` of the shared package. */
export function loadVectors(name: string): VectorFile {
  return vectorFile<VectorFile>(name);
}
