/**
 * Exporting folders as FHIR R4 with their original files, in one tar archive, optionally
 * encrypted with age (docs/export.md). Everything is decrypted here, on the client, and
 * streamed: a document goes from the relay through the SDK's verifying decryptor, two hashes
 * and the tar packer (and age) into a temporary file, one chunk at a time, so memory stays
 * constant whatever the size of the vault. The archive appears at `out` only once complete and
 * synced (temporary file, fsync, rename, fsync of the directory).
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Encrypter } from 'age-encryption';
import { pack as tarPack, type Pack } from 'tar-stream';
import { invalidArgument } from '../../errors';
import { parseId, type FolderId } from '../../ids';
import { draftsToBundle, type ExportRecord, type FhirBundle } from '../../fhir';
import type { CarnetClient } from '../client';
import type { FolderDetails, RecordView } from '../types';
import {
  FORMAT,
  MANIFEST_PATH,
  VERSION,
  bundlePath,
  folderDir,
  relativeFilePath,
  type ExportManifest,
  type ManifestFile,
  type ManifestFolder,
} from './archive-format';

/**
 * How the archive is protected: to an age recipient (`age1…`, decrypted with `age -d -i
 * key.txt`), to a passphrase (age's scrypt, `age -d` asks for it), or in clear — only when
 * asked for explicitly.
 */
export type ExportEncryption = { ageRecipient: string } | { passphrase: string } | { clear: true };

/** Progress of an export: folder `folder` of `folders`, `bytes` of archive written so far. */
export interface ExportProgress {
  folder: number;
  folders: number;
  bytes: number;
}

/** Options of {@link exportVault}. */
export interface ExportOptions {
  /** Path of the archive to write (replaced atomically if it exists). */
  out: string;
  /** Folders to export; default every folder I am a member of. */
  folderIds?: string[];
  encryption: ExportEncryption;
  onProgress?: (p: ExportProgress) => void;
}

/** What {@link exportVault} wrote. */
export interface ExportSummary {
  folders: number;
  records: number;
  files: number;
  /** Size of the archive at `out`. */
  bytes: number;
  /** SHA-256 of the archive at `out`, lowercase hex. */
  sha256: string;
}

const PROGRESS_STEP = 4 * 1024 * 1024;

/**
 * Exports the given folders (default: all I am a member of, as owner, colleague or patient)
 * to `out`. Fails without leaving anything at `out` if any record cannot be read or verified.
 */
export async function exportVault(client: CarnetClient, o: ExportOptions): Promise<ExportSummary> {
  const account = client.account;
  if (account === undefined) throw invalidArgument('client', 'a logged-in client');
  const encrypter = makeEncrypter(o.encryption);
  const folderIds = [
    ...new Set(
      o.folderIds ??
        (await client.listFolders()).filter((f) => f.status === 'member').map((f) => f.folderId),
    ),
  ];
  const progress: ExportProgress = { folder: 0, folders: folderIds.length, bytes: 0 };
  let reported = -PROGRESS_STEP;
  const report = (force: boolean): void => {
    if (!o.onProgress || (!force && progress.bytes - reported < PROGRESS_STEP)) return;
    reported = progress.bytes;
    o.onProgress({ ...progress });
  };

  const tar = tarPack();
  let stream = tarToWeb(tar);
  if (encrypter) stream = await encrypter.encrypt(stream);
  const counts = { records: 0, files: 0 };
  const produce = async (): Promise<void> => {
    const manifest: ExportManifest = {
      format: FORMAT,
      version: VERSION,
      createdAt: new Date().toISOString(),
      exporter: { accountId: account.accountId, role: account.role },
      folders: [],
    };
    for (const id of folderIds) {
      progress.folder++;
      report(true);
      const entry = await exportFolder(client, tar, await client.getFolder(id));
      manifest.folders.push(entry);
      counts.records += entry.records;
      counts.files += entry.files.length;
    }
    await addEntry(tar, MANIFEST_PATH, json(manifest));
    tar.finalize();
  };
  const written = await writeAtomically(o.out, stream, produce, tar, (n) => {
    progress.bytes += n;
    report(false);
  });
  report(true);
  // The archive is in place: record the export in each folder's audit trail (a signed
  // "exported" event, kept in the local outbox and sent again later if the relay cannot take
  // it now; this never fails the export).
  for (const id of folderIds) {
    await client.audit.recordExported({ folderId: parseId<FolderId>(id, 'folderId') });
  }
  return { folders: folderIds.length, ...counts, ...written };
}

function makeEncrypter(e: ExportEncryption): Encrypter | undefined {
  if (typeof e !== 'object' || e === null)
    throw invalidArgument('encryption', '{ ageRecipient }, { passphrase } or { clear: true }');
  if ('clear' in e) {
    if (e.clear !== true) throw invalidArgument('encryption', 'clear: true, explicitly');
    return undefined;
  }
  const enc = new Encrypter();
  if ('ageRecipient' in e) {
    if (typeof e.ageRecipient !== 'string' || !/^age1[0-9a-z]+$/.test(e.ageRecipient))
      throw invalidArgument('ageRecipient', 'an age recipient (age1…)');
    try {
      enc.addRecipient(e.ageRecipient);
    } catch {
      throw invalidArgument('ageRecipient', 'a valid age recipient (age1…)');
    }
  } else {
    if (typeof e.passphrase !== 'string' || e.passphrase === '')
      throw invalidArgument('passphrase', 'a non-empty passphrase');
    enc.setPassphrase(e.passphrase);
  }
  return enc;
}

/** Writes one folder: its documents (hashed on the way), then its bundle. */
async function exportFolder(
  client: CarnetClient,
  tar: Pack,
  folder: FolderDetails,
): Promise<ManifestFolder> {
  const { folderId } = folder;
  const records: ExportRecord[] = [];
  const files: ManifestFile[] = [];
  // One verified listing gives every header with its content; documents are then opened one
  // at a time, at the version listed.
  const views: RecordView[] = await client.listRecordViews(folderId);
  for (const v of views) {
    if (v.kind !== 'document') {
      records.push(exportRecord(v));
      continue;
    }
    const { record, body } = await client.openDocument(folderId, v.recordId, {
      version: v.version,
    });
    const fileName = record.fileName ?? record.title;
    const rel = relativeFilePath(record.recordId, fileName);
    const path = `${folderDir(folderId)}/${rel}`;
    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    const size = record.size ?? 0;
    const mtime = new Date(record.createdAt);
    await streamEntry(tar, { name: path, size, mtime }, body, (c) => {
      sha1.update(c);
      sha256.update(c);
    });
    const file = {
      path: rel,
      fileName,
      ...(record.mimeType !== undefined ? { mimeType: record.mimeType } : {}),
      size,
      sha1Base64: sha1.digest('base64'),
      sha256Hex: sha256.digest('hex'),
    };
    records.push({ ...exportRecord(record), file });
    files.push({ recordId: record.recordId, path, size, sha256: file.sha256Hex });
  }
  const bundle = draftsToBundle({ folderId, profile: folder.profile ?? { name: '' }, records });
  await addEntry(tar, bundlePath(folderId), json(bundle));
  return {
    folderId,
    myRole: folder.myRole ?? 'member',
    bundle: bundlePath(folderId),
    records: records.length,
    resources: resourceCounts(bundle),
    files,
  };
}

function exportRecord(r: RecordView): ExportRecord {
  return {
    recordId: r.recordId,
    kind: r.kind,
    title: r.title,
    ...(r.text !== undefined ? { text: r.text } : {}),
    ...(r.structured !== undefined ? { structured: r.structured } : {}),
    createdAt: r.createdAt,
    authorId: r.authorId,
    version: r.version,
  };
}

/** Number of resources of each type in a bundle. */
export function resourceCounts(bundle: FhirBundle): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of bundle.entry ?? []) {
    const t = e.resource?.resourceType;
    if (t !== undefined) out[t] = (out[t] ?? 0) + 1;
  }
  return out;
}

function json(v: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(v, null, 1)}\n`);
}

const FILE_MODE = 0o600;

/** Adds a small entry held in memory (bundle, manifest). */
function addEntry(tar: Pack, name: string, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    tar.entry({ name, mode: FILE_MODE }, data, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Streams `body` into a tar entry of exactly `header.size` bytes, honouring the packer's
 * backpressure. A body that errors (a document that fails verification) or has another length
 * destroys the packer, which fails the whole export.
 */
async function streamEntry(
  tar: Pack,
  header: { name: string; size: number; mtime: Date },
  body: ReadableStream<Uint8Array>,
  onChunk: (c: Uint8Array) => void,
): Promise<void> {
  let settle!: (err?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  // Observed at once: on a failure below, the error thrown is the body's, not this one.
  finished.catch(() => undefined);
  const sink = tar.entry({ ...header, mode: FILE_MODE }, (err) => settle(err));
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onChunk(value);
      if (!sink.write(value)) {
        if (sink.destroyed || sink.destroying) throw new Error('The archive was aborted.');
        await new Promise<void>((resolve) => {
          const go = (): void => {
            sink.off('drain', go);
            sink.off('close', go);
            resolve();
          };
          sink.on('drain', go);
          sink.on('close', go);
        });
        if (sink.destroyed || sink.destroying) throw new Error('The archive was aborted.');
      }
    }
    sink.end(undefined);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    sink.destroy(err);
    await reader.cancel(err).catch(() => undefined);
    throw e;
  }
  await finished;
}

/** The packer's output as a web stream, pulled chunk by chunk (no read-ahead). */
function tarToWeb(tar: Pack): ReadableStream<Uint8Array> {
  const it = tar[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await it.next();
        if (r.done === true) c.close();
        else {
          const b = r.value as Uint8Array;
          c.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        }
      },
      cancel(reason) {
        tar.destroy(reason instanceof Error ? reason : new Error('export cancelled'));
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Runs `produce` (which fills the packer) while writing `stream` to a temporary file next to
 * `out`; renames it into place only if both succeeded and the file is synced. On any failure
 * the packer is destroyed (so neither side waits for the other forever) and the temporary file
 * removed.
 */
async function writeAtomically(
  out: string,
  stream: ReadableStream<Uint8Array>,
  produce: () => Promise<void>,
  tar: Pack,
  onBytes: (n: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  const dir = dirname(out);
  const tmp = join(dir, `.${basename(out)}.${randomBytes(6).toString('hex')}.part`);
  const fh = await open(tmp, 'wx', FILE_MODE);
  const hash = createHash('sha256');
  let bytes = 0;
  const write = async (): Promise<void> => {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      let off = 0;
      while (off < value.length) {
        const { bytesWritten } = await fh.write(value, off, value.length - off);
        off += bytesWritten;
      }
      bytes += value.length;
      onBytes(value.length);
    }
    await fh.sync();
  };
  // The first failure is the one reported: the other side then only sees "aborted".
  let failure: { error: unknown } | undefined;
  const abort = (e: unknown): void => {
    failure ??= { error: e };
    if (!tar.destroyed) tar.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  const producing = produce().catch((e: unknown) => {
    abort(e);
    throw e;
  });
  const writing = write().catch((e: unknown) => {
    abort(e);
    throw e;
  });
  await Promise.allSettled([producing, writing]);
  try {
    await fh.close();
    if (failure) throw failure.error;
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
  return { bytes, sha256: hash.digest('hex') };
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
