/**
 * Re-importing a Carnet export archive (export.ts, docs/export.md) into the logged-in account:
 * every folder becomes a new folder I own, every record a new record, documents streamed from
 * the archive into `addRecord` without being held in memory.
 *
 * The archive is read twice. The first pass decrypts it (age authenticates every 64 KiB chunk
 * and the end of the file), parses the manifest and the bundles, hashes every file and checks
 * sizes and SHA-256 against both the manifest and the bundle: an altered, truncated or
 * incomplete archive is refused before anything is created. The second pass creates the
 * folders and records, checking each file again as it streams (the file could have changed
 * between the passes): a body that does not match errors before its end, so the SDK never
 * stores that record.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Decrypter } from 'age-encryption';
import { extract as tarExtract, type Extract } from 'tar-stream';
import { CarnetError, invalidArgument, isCarnetError } from '../../errors';
import { fhirToDrafts, type PatientDraft, type RecordDraft } from '../../fhir';
import type { FolderId } from '../../ids';
import type { CarnetClient } from '../client';
import { isApiError } from '../http';
import type { RecordInput } from '../types';
import {
  AGE_ARMOR_MAGIC,
  AGE_MAGIC,
  MANIFEST_PATH,
  ROOT,
  parseManifest,
  resolveFilePath,
  type ExportManifest,
} from './archive-format';

/** Options of {@link importArchive}. */
export interface ImportArchiveOptions {
  /** The archive: a plain tar or an age file, as written by `exportVault`. */
  path: string;
  /** For an archive encrypted to a passphrase. */
  passphrase?: string;
  /** For an archive encrypted to an age recipient: its identity, `AGE-SECRET-KEY-1…`. */
  identity?: string;
  onProgress?: (p: ImportProgress) => void;
}

/** Progress: `verify` reads the whole archive once, `import` a second time while writing. */
export interface ImportProgress {
  phase: 'verify' | 'import';
  folder: number;
  folders: number;
  /** Bytes of the archive file read so far in this phase. */
  bytes: number;
}

/** What {@link importArchive} created. */
export interface ImportArchiveSummary {
  folders: number;
  records: number;
  files: number;
  /** The new folder created for each exported folder, in archive order. */
  created: { from: string; folderId: FolderId }[];
}

const MAX_JSON = 256 * 1024 * 1024;
const ENTRY = new RegExp(`^${ROOT}/([A-Za-z0-9_-]{22})/(bundle\\.json|files/.+)$`);

/** A folder of the archive, verified: its drafts and where each document is. */
interface PlannedFolder {
  from: string;
  draft: PatientDraft;
  /** Full archive path → index in `draft.records`. */
  byPath: Map<string, number>;
  /** Full archive path → expected size and SHA-256. */
  files: Map<string, { size: number; sha256: string }>;
}

/** Imports an export archive into the logged-in account (new folders and records). */
export async function importArchive(
  client: CarnetClient,
  o: ImportArchiveOptions,
): Promise<ImportArchiveSummary> {
  if (client.account === undefined) throw invalidArgument('client', 'a logged-in client');
  const key = await archiveKey(o);
  const plan = await verifyPass(o, key);
  return importPass(client, o, key, plan);
}

// --- pass 1: verify ---------------------------------------------------------------------------

async function verifyPass(o: ImportArchiveOptions, key: FileKey): Promise<PlannedFolder[]> {
  const progress: ImportProgress = { phase: 'verify', folder: 0, folders: 0, bytes: 0 };
  const found = new Map<string, { size: number; sha256: string }>();
  const bundles = new Map<string, unknown>();
  let manifest: ExportManifest | undefined;
  await eachEntry(o, key, progress, async (name, entry) => {
    if (name === MANIFEST_PATH) {
      manifest = parseManifest(parseJson(await readAll(entry, name), name));
      return;
    }
    const m = ENTRY.exec(name);
    if (m === null) throw notAnArchive(`unexpected entry ${name}`);
    if (m[2] === 'bundle.json') {
      bundles.set(m[1]!, parseJson(await readAll(entry, name), name));
      progress.folder = bundles.size;
      return;
    }
    const sha256 = createHash('sha256');
    let size = 0;
    for await (const c of entry) {
      sha256.update(c as Uint8Array);
      size += (c as Uint8Array).length;
    }
    found.set(name, { size, sha256: sha256.digest('hex') });
  });
  if (manifest === undefined) throw notAnArchive('no manifest (a truncated archive?)');
  return planFolders(manifest, bundles, found);
}

function planFolders(
  manifest: ExportManifest,
  bundles: Map<string, unknown>,
  found: Map<string, { size: number; sha256: string }>,
): PlannedFolder[] {
  const listed = new Set(manifest.folders.map((f) => f.folderId));
  for (const id of bundles.keys())
    if (!listed.has(id)) throw notAnArchive(`folder ${id} is not in the manifest`);
  const plan: PlannedFolder[] = [];
  for (const f of manifest.folders) {
    const bundle = bundles.get(f.folderId);
    if (bundle === undefined) throw notAnArchive(`the bundle of folder ${f.folderId} is missing`);
    const files = new Map<string, { size: number; sha256: string }>();
    for (const file of f.files) {
      const got = found.get(file.path);
      if (got === undefined) throw notAnArchive(`${file.path} is missing`);
      if (got.size !== file.size || got.sha256 !== file.sha256) throw altered(file.path);
      files.set(file.path, { size: file.size, sha256: file.sha256 });
    }
    const drafts = fhirToDrafts(bundle);
    if (drafts.length !== 1)
      throw notAnArchive(`the bundle of folder ${f.folderId} holds ${drafts.length} patients`);
    const draft = drafts[0]!;
    const byPath = new Map<string, number>();
    draft.records.forEach((r, i) => {
      const doc = r.document;
      if (r.kind !== 'document' || doc === undefined) return;
      if (doc.path === undefined) {
        if (doc.data === undefined) throw notAnArchive(`a document of ${f.folderId} has no file`);
        return;
      }
      const path = findPath(f.folderId, doc.path, files);
      const expected = files.get(path)!;
      if (byPath.has(path)) throw notAnArchive(`${path} is named twice`);
      if (
        doc.size !== expected.size ||
        (doc.sha256 !== undefined && doc.sha256 !== expected.sha256)
      )
        throw altered(path);
      byPath.set(path, i);
    });
    if (byPath.size !== files.size)
      throw notAnArchive(`folder ${f.folderId} has files its bundle does not name`);
    plan.push({ from: f.folderId, draft, byPath, files });
  }
  return plan;
}

/** The archive path of a bundle's attachment (as written, or percent-decoded). */
function findPath(folderId: string, path: string, files: Map<string, unknown>): string {
  const direct = resolveFilePath(folderId, path);
  if (files.has(direct)) return direct;
  let decoded: string | undefined;
  try {
    decoded = resolveFilePath(folderId, decodeURIComponent(path));
  } catch {
    decoded = undefined;
  }
  if (decoded !== undefined && files.has(decoded)) return decoded;
  throw notAnArchive(`${direct} is named by the bundle but not in the archive`);
}

// --- pass 2: import ---------------------------------------------------------------------------

async function importPass(
  client: CarnetClient,
  o: ImportArchiveOptions,
  key: FileKey,
  plan: PlannedFolder[],
): Promise<ImportArchiveSummary> {
  const progress: ImportProgress = { phase: 'import', folder: 0, folders: plan.length, bytes: 0 };
  const summary: ImportArchiveSummary = { folders: 0, records: 0, files: 0, created: [] };
  const byId = new Map(plan.map((p) => [p.from, p]));
  const state = new Map<string, { folderId: FolderId; next: number; done: Set<number> }>();

  const folder = async (
    p: PlannedFolder,
  ): Promise<{ folderId: FolderId; next: number; done: Set<number> }> => {
    let s = state.get(p.from);
    if (s === undefined) {
      const created = await client.createFolder(p.draft.profile);
      s = { folderId: created.folderId, next: 0, done: new Set() };
      state.set(p.from, s);
      summary.folders++;
      summary.created.push({ from: p.from, folderId: created.folderId });
      progress.folder = summary.folders;
      o.onProgress?.({ ...progress });
    }
    return s;
  };
  /** Writes the records before index `upTo` not written yet, in bundle order. */
  const flush = async (p: PlannedFolder, upTo: number): Promise<void> => {
    const s = await folder(p);
    for (; s.next < upTo; s.next++) {
      if (s.done.has(s.next)) continue;
      const r = p.draft.records[s.next]!;
      if (r.kind === 'document' && r.document?.path !== undefined) continue; // comes from its entry
      await client.addRecord(s.folderId, inputOf(r, undefined));
      s.done.add(s.next);
      summary.records++;
      if (r.kind === 'document') summary.files++;
    }
  };

  await eachEntry(o, key, progress, async (name, entry) => {
    const m = ENTRY.exec(name);
    const p = m === null ? undefined : byId.get(m[1]!);
    if (p === undefined || m === null) {
      if (name === MANIFEST_PATH) return drain(entry);
      throw notAnArchive(`unexpected entry ${name}`);
    }
    if (m[2] === 'bundle.json') {
      await drain(entry);
      return flush(p, p.draft.records.length);
    }
    const index = p.byPath.get(name);
    const expected = p.files.get(name);
    if (index === undefined || expected === undefined) throw notAnArchive(`${name} is unexpected`);
    await flush(p, index);
    const s = await folder(p);
    const body = verified(entryStream(entry), name, expected);
    await client.addRecord(s.folderId, inputOf(p.draft.records[index]!, body));
    s.done.add(index);
    summary.records++;
    summary.files++;
  });
  for (const p of plan) {
    await flush(p, p.draft.records.length);
    const s = state.get(p.from)!;
    for (const i of p.byPath.values())
      if (!s.done.has(i)) throw notAnArchive('a file vanished between the two passes');
  }
  return summary;
}

function inputOf(r: RecordDraft, body: ReadableStream<Uint8Array> | undefined): RecordInput {
  const text = r.text !== undefined ? { text: r.text } : {};
  if (r.kind === 'note') return { kind: 'note', title: r.title, text: r.text ?? '' };
  if (r.kind === 'document') {
    const doc = r.document;
    if (doc === undefined) throw notAnArchive(`document "${r.title}" has no file`);
    const content = body ?? bytesStream(doc.data ?? new Uint8Array(0));
    return {
      kind: 'document',
      title: r.title,
      fileName: doc.fileName,
      ...(doc.mimeType !== undefined ? { mimeType: doc.mimeType } : {}),
      ...text,
      size: doc.size,
      body: content,
    };
  }
  if (r.structured === undefined) throw notAnArchive(`entry "${r.title}" has no content`);
  return { kind: r.kind, title: r.title, structured: r.structured, ...text };
}

/**
 * Passes the content through while hashing it; errors (instead of ending) when the length or
 * the SHA-256 is not the expected one, so that the record is never stored.
 */
function verified(
  body: ReadableStream<Uint8Array>,
  name: string,
  expected: { size: number; sha256: string },
): ReadableStream<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        size += chunk.length;
        if (size > expected.size) throw altered(name);
        hash.update(chunk);
        c.enqueue(chunk);
      },
      flush() {
        if (size !== expected.size || hash.digest('hex') !== expected.sha256) throw altered(name);
      },
    }),
  );
}

// --- reading the archive ----------------------------------------------------------------------

type Entry = Extract extends AsyncIterable<infer E> ? E : never;

/**
 * Opens the archive (plain tar or age), and calls `visit` for each file entry in order. The
 * visitor must consume the entry. Directory entries are skipped; links and devices refused.
 */
async function eachEntry(
  o: ImportArchiveOptions,
  key: FileKey,
  progress: ImportProgress,
  visit: (name: string, entry: Entry) => Promise<void>,
): Promise<void> {
  let lastReport = 0;
  const source = await openArchive(o.path, key, (n) => {
    progress.bytes += n;
    if (progress.bytes - lastReport >= 4 * 1024 * 1024) {
      lastReport = progress.bytes;
      o.onProgress?.({ ...progress });
    }
  });
  const ex = tarExtract();
  const feeding = feed(source, ex);
  const seen = new Set<string>();
  try {
    for await (const entry of ex) {
      const { name, type } = entry.header;
      if (type === 'directory') {
        await drain(entry);
        continue;
      }
      if (type !== 'file') throw notAnArchive(`${name} is not a regular file`);
      if (seen.has(name)) throw notAnArchive(`${name} appears twice`);
      seen.add(name);
      await visit(name, entry);
    }
  } catch (e) {
    ex.destroy(e instanceof Error ? e : new Error(String(e)));
    await feeding;
    throw mapped(e);
  }
  await feeding;
  o.onProgress?.({ ...progress });
}

/** Writes the decrypted stream into the tar parser, with backpressure. */
async function feed(source: ReadableStream<Uint8Array>, ex: Extract): Promise<void> {
  const reader = source.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (ex.destroyed || ex.destroying) break;
      if (!ex.write(value)) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            ex.off('drain', go);
            ex.off('close', go);
            resolve();
          };
          ex.on('drain', go);
          ex.on('close', go);
        });
      }
    }
    if (!ex.destroyed) ex.end(undefined);
  } catch (e) {
    ex.destroy(e instanceof Error ? e : new Error(String(e)));
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** An age file's key (unwrapped once, for both passes), or `undefined` for a plain tar. */
type FileKey = Uint8Array | undefined;

const MAX_AGE_HEADER = 64 * 1024;

/**
 * Recognises the archive and, for an age file, unwraps its file key with the passphrase or
 * identity — once: a passphrase costs an scrypt of several seconds, and both passes reuse the
 * key (each still checks the header's MAC and every chunk of the payload).
 */
async function archiveKey(o: ImportArchiveOptions): Promise<FileKey> {
  const head = await firstBytes(o.path, MAX_AGE_HEADER);
  const text = new TextDecoder('latin1').decode(head);
  if (text.startsWith(AGE_ARMOR_MAGIC))
    throw notAnArchive('it is ASCII-armored; decrypt it with `age -d` first');
  if (!text.startsWith(AGE_MAGIC)) {
    if (text.slice(257, 262) !== 'ustar') throw notAnArchive('neither a tar nor an age file');
    return undefined;
  }
  if (o.passphrase === undefined && o.identity === undefined)
    throw invalidArgument(
      'passphrase',
      'a passphrase or an age identity: the archive is encrypted',
    );
  const d = new Decrypter();
  if (o.passphrase !== undefined) d.addPassphrase(o.passphrase);
  if (o.identity !== undefined) {
    try {
      d.addIdentity(o.identity.trim());
    } catch {
      throw invalidArgument('identity', 'an age identity (AGE-SECRET-KEY-1…)');
    }
  }
  try {
    return await d.decryptHeader(head);
  } catch (e) {
    const msg = e instanceof Error ? e.message : '';
    if (msg.includes('no identity matched')) {
      if (o.passphrase !== undefined)
        throw new CarnetError('BAD_PASSWORD', 'The passphrase does not open this archive.');
      throw invalidArgument('identity', 'the key this archive was encrypted to');
    }
    throw new CarnetError('INTEGRITY', 'The archive header was altered.');
  }
}

/** The archive's tar bytes: the file itself, or the age payload decrypted with `key`. */
async function openArchive(
  path: string,
  key: FileKey,
  onBytes: (n: number) => void,
): Promise<ReadableStream<Uint8Array>> {
  const file = fileStream(path, onBytes);
  if (key === undefined) return file;
  const d = new Decrypter();
  d.addIdentity({ unwrapFileKey: () => key });
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await d.decrypt(file);
  } catch {
    throw new CarnetError('INTEGRITY', 'The archive header was altered.');
  }
  return authenticated(plain);
}

/** The decrypted stream, with age's authentication failures turned into `INTEGRITY`. */
function authenticated(plain: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = plain.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          if (isCarnetError(e)) throw e;
          throw new CarnetError('INTEGRITY', 'The archive was altered or is truncated.');
        }
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A file as a pull-driven stream (no read-ahead beyond one 256 KiB chunk). */
function fileStream(path: string, onBytes: (n: number) => void): ReadableStream<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  const close = async (): Promise<void> => {
    const h = fh;
    fh = undefined;
    await h?.close();
  };
  return new ReadableStream<Uint8Array>(
    {
      async start() {
        fh = await open(path, 'r');
      },
      async pull(c) {
        if (fh === undefined) return c.close();
        const buf = new Uint8Array(256 * 1024);
        try {
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) {
            await close();
            c.close();
            return;
          }
          onBytes(bytesRead);
          c.enqueue(buf.subarray(0, bytesRead));
        } catch (e) {
          await close().catch(() => undefined);
          throw e;
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}

/** A tar entry as a web stream (pulled: the parser only advances as the SDK reads). */
function entryStream(entry: Entry): ReadableStream<Uint8Array> {
  const it = entry[Symbol.asyncIterator]();
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
        entry.destroy(reason instanceof Error ? reason : new Error('cancelled'));
      },
    },
    { highWaterMark: 0 },
  );
}

function bytesStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(c) {
      if (data.length > 0) c.enqueue(data);
      c.close();
    },
  });
}

async function readAll(entry: Entry, name: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of entry) {
    size += (c as Uint8Array).length;
    if (size > MAX_JSON) throw notAnArchive(`${name} is too large`);
    parts.push(c as Uint8Array);
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function drain(entry: Entry): Promise<void> {
  for await (const _ of entry) {
    // discard
  }
}

function parseJson(bytes: Uint8Array, name: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw notAnArchive(`${name} is not valid JSON`);
  }
}

function notAnArchive(why: string): CarnetError {
  return new CarnetError('FORMAT', `This is not a complete Carnet export archive: ${why}.`);
}

function altered(path: string): CarnetError {
  return new CarnetError(
    'INTEGRITY',
    `${path} does not match the size and SHA-256 recorded in the archive: it was altered.`,
  );
}

/** Parser failures (a damaged tar) are `FORMAT`; our own and the SDK's errors pass through. */
function mapped(e: unknown): unknown {
  if (isCarnetError(e) || isApiError(e)) return e;
  if (e instanceof Error && /Unexpected end of data|Invalid header|Header exceeds/.test(e.message))
    return notAnArchive(`the tar is damaged (${e.message})`);
  return e;
}
