/**
 * What `record add` and `record edit` turn their options into: validated content, the record
 * kind, and the SDK's `RecordInput` (a file streamed from disk, or carried over on an edit).
 */
import { basename } from 'node:path';
import { atMostOne, optional, type Invocation } from './command';
import { usage } from './errors';
import { mimeType } from './mime';
import { fileToStream, type CarnetClient, type RecordInput, type RecordView } from './sdk';
import { choice, inputFile, jsonObject, KINDS, label, type JsonObject } from './validate';

type Kind = (typeof KINDS)[number];
const STRUCTURED = ['observation', 'condition', 'allergy', 'medication'] as const;

/** Kinds of structured entries. */
export type EntryKind = (typeof STRUCTURED)[number];

/** What `record add`/`record edit` were given, validated, before anything is read or sent. */
export interface Body {
  title?: string;
  text?: string;
  file?: { path: string; size: number };
  structured?: JsonObject;
}

/** Reads and validates the content options, before anything is read or sent. */
export async function readBody(inv: Invocation): Promise<Body> {
  atMostOne(inv, ['file', 'structured']);
  const body: Body = {};
  const title = optional(inv, 'title');
  if (title !== undefined) body.title = label('title', title);
  const text = optional(inv, 'text');
  if (text !== undefined) body.text = text;
  const file = optional(inv, 'file');
  if (file !== undefined) body.file = { path: file, size: await inputFile('file', file) };
  const structured = optional(inv, 'structured');
  if (structured !== undefined) body.structured = jsonObject('structured', structured);
  return body;
}

/** The kind given by --kind, or the one the options imply. */
function defaultKind(b: Body): Kind {
  if (b.file) return 'document';
  return b.structured ? 'observation' : 'note';
}

/**
 * The record kind of `record add`, checked against what was given (a title is required but
 * for documents, which default to the file name).
 */
export function inferKind(inv: Invocation, b: Body): Kind {
  if (b.title === undefined && !b.file) throw usage('Missing --title TITLE.');
  const given = optional(inv, 'kind');
  const kind = given === undefined ? defaultKind(b) : choice('kind', given, KINDS);
  if (kind === 'document' && !b.file) throw usage('A document needs --file PATH.');
  if (kind !== 'document' && b.file) throw usage(`--file makes a document; drop --kind ${kind}.`);
  if (kind === 'note' && (b.text === undefined || b.structured))
    throw usage('A note needs --text TEXT (and no --structured).');
  if ((STRUCTURED as readonly string[]).includes(kind) && !b.structured) {
    throw usage(
      `A ${kind} needs --structured JSON, e.g. --structured '{"code":"8480-6","value":130,"unit":"mmHg"}'.`,
    );
  }
  return kind;
}

/** The input of a new record of `kind`, as checked by {@link inferKind}. */
export async function newInput(
  b: Body,
  kind: Kind,
  mime: string | undefined,
): Promise<RecordInput> {
  if (b.file) return documentInput(b.file.path, b.title, b.text, mime);
  const title = b.title ?? '';
  if (kind === 'note') return { kind, title, text: b.text ?? '' };
  const structured = b.structured ?? {};
  return {
    kind: kind as EntryKind,
    title,
    structured,
    ...(b.text === undefined ? {} : { text: b.text }),
  };
}

/** A document input streaming the file at `path`. */
export async function documentInput(
  path: string,
  title: string | undefined,
  text: string | undefined,
  mime: string | undefined,
): Promise<RecordInput> {
  const { body, size } = await fileToStream(path);
  const fileName = basename(path);
  return {
    kind: 'document',
    title: title ?? fileName,
    fileName,
    mimeType: mime ?? mimeType(fileName),
    size,
    body,
    ...(text === undefined ? {} : { text }),
  };
}

/** The full input of the next version: the current one with the given parts replaced. */
export async function editedInput(
  client: CarnetClient,
  folder: string,
  cur: RecordView,
  b: Body,
): Promise<RecordInput> {
  const title = b.title ?? cur.title;
  const text = b.text ?? cur.text;
  if (cur.kind === 'document') {
    if (b.structured) throw usage('A document has no structured content: drop --structured.');
    if (b.file) return documentInput(b.file.path, title, text, undefined);
    // The SDK seals every version with a fresh key: the unchanged file is re-encrypted.
    const doc = await client.openDocument(folder, cur.recordId, { version: cur.version });
    return {
      kind: 'document',
      title,
      fileName: cur.fileName ?? 'file',
      size: cur.size ?? 0,
      body: doc.body,
      ...(cur.mimeType === undefined ? {} : { mimeType: cur.mimeType }),
      ...(text === undefined ? {} : { text }),
    };
  }
  if (b.file) throw usage(`Record ${cur.recordId} is a ${cur.kind}, not a file: drop --file.`);
  if (cur.kind === 'note') {
    if (b.structured) throw usage('A note has no structured content: drop --structured.');
    return { kind: 'note', title, text: text ?? '' };
  }
  const kind = cur.kind as EntryKind;
  return {
    kind,
    title,
    structured: b.structured ?? cur.structured ?? {},
    ...(text === undefined ? {} : { text }),
  };
}
