/**
 * The layout of a Carnet export archive (docs/export.md), shared by the exporter (export.ts)
 * and the importer (archive.ts): entry paths, safe file names and the manifest.
 *
 * Tar order: for each folder, its files (`<folderId>/files/<recordId>/<name>`) and then its
 * `bundle.json`; `manifest.json` last. Files come first because the bundle carries their
 * hashes (FHIR `Attachment.hash` is SHA-1, which the record header does not hold): the
 * exporter hashes each document while streaming it, then writes the bundle. The importer reads
 * the archive twice (verify, then import), so it never needs the bundle before the files.
 */
import { CarnetError } from '../../errors';

/** Top directory of every entry. */
export const ROOT = 'carnet-export';
/** `format` of the manifest. */
export const FORMAT = 'carnet-export';
/** `version` of the manifest this code writes and reads. */
export const VERSION = 1;
/** Path of the manifest entry. */
export const MANIFEST_PATH = `${ROOT}/manifest.json`;
/** First bytes of an age file (binary format). */
export const AGE_MAGIC = 'age-encryption.org/v1\n';
/** First bytes of an ASCII-armored age file. */
export const AGE_ARMOR_MAGIC = '-----BEGIN AGE ENCRYPTED FILE-----';

/** A document in the manifest. */
export interface ManifestFile {
  recordId: string;
  /** Full archive path. */
  path: string;
  size: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
}

/** A folder in the manifest. */
export interface ManifestFolder {
  folderId: string;
  /** The exporter's role in the folder's signed manifest. */
  myRole: string;
  /** Full archive path of the folder's FHIR bundle. */
  bundle: string;
  /** Records exported (latest version of each). */
  records: number;
  /** Number of resources of each type in the bundle. */
  resources: Record<string, number>;
  files: ManifestFile[];
}

/** `carnet-export/manifest.json`. */
export interface ExportManifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** ISO 8601. */
  createdAt: string;
  exporter: { accountId: string; role: string };
  folders: ManifestFolder[];
}

/** Directory of a folder. */
export function folderDir(folderId: string): string {
  return `${ROOT}/${folderId}`;
}

/** Full path of a folder's bundle. */
export function bundlePath(folderId: string): string {
  return `${folderDir(folderId)}/bundle.json`;
}

/** Path of a document relative to its folder directory (what the bundle's attachment names). */
export function relativeFilePath(recordId: string, fileName: string): string {
  return `files/${recordId}/${safeFileName(fileName)}`;
}

const MAX_NAME_BYTES = 150;

/**
 * A file name that is safe as one path component on every system and as a relative URL in
 * FHIR `Attachment.url`: no separators, no control characters, no whitespace (FHIR `url` is
 * `\S*`), none of `% # ? :` (URL syntax), no leading dot, at most 150 UTF-8 bytes (extension
 * kept). The original name stays in the bundle.
 */
export function safeFileName(name: string): string {
  let s = Array.from(name.normalize('NFC'))
    .map((ch) => (/[\p{Cc}\p{Cf}\p{Z}\s/\\%#?:*"<>|]/u.test(ch) ? '_' : ch))
    .join('')
    .replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (s === '' || s === '_') s = 'file';
  const enc = new TextEncoder();
  if (enc.encode(s).length <= MAX_NAME_BYTES) return s;
  const dot = s.lastIndexOf('.');
  const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : '';
  const chars = Array.from(s.slice(0, s.length - ext.length));
  while (chars.length > 0 && enc.encode(chars.join('') + ext).length > MAX_NAME_BYTES) chars.pop();
  return chars.join('') + ext;
}

/**
 * Resolves a bundle's attachment path against the folder directory. Absolute paths (starting
 * with `carnet-export/`) are taken as they are; anything that would leave the folder directory
 * is refused.
 */
export function resolveFilePath(folderId: string, path: string): string {
  const full = path.startsWith(`${ROOT}/`) ? path : `${folderDir(folderId)}/${path}`;
  const parts = full.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..') || parts[1] !== folderId) {
    throw new CarnetError('FORMAT', `The archive names a file outside its folder: ${path}`);
  }
  return full;
}

function fail(why: string): CarnetError {
  return new CarnetError('FORMAT', `This is not a Carnet export archive: ${why}.`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ID = /^[A-Za-z0-9_-]{22}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Checks the shape of a parsed manifest; `FORMAT` naming the first problem. */
export function parseManifest(v: unknown): ExportManifest {
  if (!isRecord(v)) throw fail('the manifest is not a JSON object');
  if (v.format !== FORMAT) throw fail('the manifest format is not carnet-export');
  if (v.version !== VERSION) throw fail(`manifest version ${String(v.version)} is not supported`);
  if (typeof v.createdAt !== 'string') throw fail('the manifest has no createdAt');
  const ex = v.exporter;
  if (!isRecord(ex) || typeof ex.accountId !== 'string' || typeof ex.role !== 'string')
    throw fail('the manifest has no exporter');
  if (!Array.isArray(v.folders)) throw fail('the manifest has no folder list');
  const seen = new Set<string>();
  for (const f of v.folders as unknown[]) {
    if (!isRecord(f) || typeof f.folderId !== 'string' || !ID.test(f.folderId))
      throw fail('a folder of the manifest has no valid id');
    if (seen.has(f.folderId)) throw fail('a folder is listed twice');
    seen.add(f.folderId);
    if (f.bundle !== bundlePath(f.folderId)) throw fail('a folder has no bundle path');
    if (typeof f.myRole !== 'string' || !isCount(f.records) || !isRecord(f.resources))
      throw fail('a folder of the manifest is incomplete');
    if (!Array.isArray(f.files)) throw fail('a folder of the manifest has no file list');
    for (const file of f.files as unknown[]) {
      if (
        !isRecord(file) ||
        typeof file.recordId !== 'string' ||
        typeof file.path !== 'string' ||
        !file.path.startsWith(`${folderDir(f.folderId)}/files/`) ||
        !isCount(file.size) ||
        typeof file.sha256 !== 'string' ||
        !HEX64.test(file.sha256)
      )
        throw fail('a file of the manifest is incomplete');
    }
  }
  return v as unknown as ExportManifest;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
