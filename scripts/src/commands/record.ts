/**
 * Records: add (note, structured entry or file), list, get (text to stdout, files streamed to
 * --out) and edit (a new signed version; a concurrent edit is refused, never overwritten).
 */
import { streamToFile, type RecordSummary, type RecordView } from '../sdk';
import { optional, type Command, type Invocation } from '../command';
import { CliError, usage } from '../errors';
import { bytes, safe, table, when } from '../format';
import { userNames } from '../names';
import { folderOf, remember } from '../record-index';
import { editedInput, inferKind, newInput, readBody } from '../record-input';
import type { Sink } from '../io';
import { signedIn } from '../session';
import { grantFolder, grantOption } from './grant';
import { folderId, KINDS, outputFile, recordId } from '../validate';

function summaryLine(r: RecordSummary): string {
  const name = r.fileName !== undefined && r.fileName !== r.title ? `${safe(r.fileName)}, ` : '';
  const file = r.fileName !== undefined ? `, ${name}${bytes(r.size ?? 0)}` : '';
  return `Record ${r.recordId} version ${r.version}: ${safe(r.title)} [${r.kind}${file}]`;
}

const add: Command = {
  name: 'record add',
  summary: 'Add a note, a structured entry or a file to a folder (encrypted here).',
  synopsis:
    '--folder ID --title TITLE (--text TEXT | --file PATH | --structured JSON) [--kind KIND]',
  details: [
    `Kinds: ${KINDS.join(', ')}. Default: document with --file, observation with --structured,`,
    'note otherwise. --text may go with --file or --structured as a comment. With --file, the',
    'title defaults to the file name; --mime-type overrides the type guessed from its extension.',
    '',
    'Examples:',
    '  carnet record add --folder ID --title Consultation --text "Tension 13/8, RAS."',
    `  carnet record add --folder ID --title "Blood pressure" --structured '{"systolic":130}'`,
    '  carnet record add --folder ID --title "Bilan sanguin" --file ./bilan.pdf',
  ].join('\n'),
  options: {
    folder: { type: 'string' },
    title: { type: 'string' },
    text: { type: 'string' },
    file: { type: 'string' },
    structured: { type: 'string' },
    kind: { type: 'string' },
    'mime-type': { type: 'string' },
  },
  async run(inv) {
    const folder = folderId(requiredFolder(inv));
    inv.context.folder = folder;
    const b = await readBody(inv);
    const kind = inferKind(inv, b);
    const s = await signedIn(inv);
    const input = await newInput(b, kind, optional(inv, 'mime-type'));
    const record = await s.client.addRecord(folder, input);
    await remember(s.dir, folder, [record.recordId]);
    return { json: { record }, text: summaryLine(record) };
  },
};

function requiredFolder(inv: Invocation): string {
  const f = optional(inv, 'folder');
  if (f === undefined) throw usage('Missing --folder ID (see `carnet patient list`).');
  return f;
}

const list: Command = {
  name: 'record list',
  summary: "List a folder's records (latest version of each).",
  synopsis: '--folder ID [--grant ID]',
  details:
    'A support agent reads within a grant with --grant ID (--folder optional if it covers one).',
  options: { folder: { type: 'string' }, grant: { type: 'string' } },
  async run(inv) {
    const grant = grantOption(inv);
    const given = grant === undefined ? requiredFolder(inv) : optional(inv, 'folder');
    if (given !== undefined) inv.context.folder = folderId(given);
    const s = await signedIn(inv);
    const folder = grant === undefined ? given! : await grantFolder(s.client, grant, given);
    inv.context.folder = folder;
    const records =
      grant === undefined
        ? await s.client.listRecords(folder)
        : await s.client.grants.listRecords(grant, folder);
    if (grant === undefined) {
      await remember(
        s.dir,
        folder,
        records.map((r) => r.recordId),
      );
    }
    const authors = await userNames(
      s.client,
      records.map((r) => r.authorId),
    );
    const rows = records.map((r) => [
      r.recordId,
      String(r.version),
      r.kind,
      safe(r.title),
      r.fileName !== undefined ? `${safe(r.fileName)} (${bytes(r.size ?? 0)})` : '',
      when(r.createdAt),
      authors.get(r.authorId) ?? r.authorId,
    ]);
    return {
      json: {
        folderId: folder,
        records: records.map((r) => ({ ...r, authorName: authors.get(r.authorId) ?? null })),
      },
      text:
        records.length === 0
          ? 'No records in this folder yet.'
          : table(['RECORD', 'V', 'KIND', 'TITLE', 'FILE', 'DATE (UTC)', 'AUTHOR'], rows),
    };
  },
};

/** The folder and record a `get`/`edit` is about, validated and put in the error context. */
async function locate(
  inv: Invocation,
  grant?: string,
): Promise<{ s: Awaited<ReturnType<typeof signedIn>>; folder: string; record: string }> {
  const record = recordId(inv.positionals[0] ?? '');
  inv.context.record = record;
  const given = optional(inv, 'folder');
  if (given !== undefined) inv.context.folder = folderId(given);
  const s = await signedIn(inv);
  const folder =
    grant === undefined
      ? await folderOf(s.client, s.dir, record, given)
      : await grantFolder(s.client, grant, given, record);
  inv.context.folder = folder;
  return { s, folder, record };
}

function contentOf(r: RecordView): string {
  const parts: string[] = [];
  if (r.structured !== undefined) parts.push(JSON.stringify(r.structured, null, 2));
  if (r.text !== undefined) parts.push(safe(r.text));
  return parts.join('\n\n');
}

const get: Command = {
  name: 'record get',
  summary: 'Show a record; with a file, save it with --out PATH (byte-identical).',
  synopsis: 'RECORD [--folder ID] [--out PATH] [--version N] [--grant ID]',
  details: [
    'Text and structured content go to stdout. A file goes to --out PATH, or to stdout when',
    'stdout is a pipe (not a terminal, not --json): carnet record get ID > scan.pdf',
    'A support agent reads within a grant with --grant ID.',
  ].join('\n'),
  options: {
    folder: { type: 'string' },
    out: { type: 'string' },
    version: { type: 'string' },
    grant: { type: 'string' },
  },
  positionals: ['RECORD'],
  async run(inv) {
    const given = optional(inv, 'out');
    const out = given === undefined ? undefined : await outputFile('out', given);
    const version = versionOption(inv);
    const grant = grantOption(inv);
    const { s, folder, record } = await locate(inv, grant);
    const v = version === undefined ? {} : { version };
    const view =
      grant === undefined
        ? await s.client.readRecord(folder, record, v)
        : await s.client.grants.readRecord(grant, folder, record, v);
    const header = `${safe(view.title)} — ${view.kind}, version ${view.version}, ${when(view.createdAt)} UTC`;
    if (view.fileName === undefined) return textRecord(inv, view, header, out);
    if (out === undefined && (inv.json || inv.io.stdout.isTTY)) {
      throw new CliError(
        'OUT_REQUIRED',
        `Record ${record} is a file (${safe(view.fileName)}): save it with --out PATH.`,
      );
    }
    const doc =
      grant === undefined
        ? await s.client.openDocument(folder, record, { version: view.version })
        : await s.client.grants.openDocument(grant, folder, record, { version: view.version });
    if (out === undefined) {
      await pipeTo(doc.body, inv);
      return { json: {}, text: '', printed: true };
    }
    const written = await streamToFile(doc.body, out);
    return {
      json: { record: view, out, bytes: written },
      text: `Saved ${safe(view.fileName)} (${bytes(written)}) to ${out}.`,
    };
  },
};

function versionOption(inv: Invocation): number | undefined {
  const v = optional(inv, 'version');
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(v))
    throw usage(`--version must be a positive whole number (got "${v}").`);
  return Number(v);
}

async function textRecord(
  inv: Invocation,
  view: RecordView,
  header: string,
  out: string | undefined,
) {
  const content = contentOf(view);
  if (out !== undefined) {
    const written = await streamToFile(new Blob([content]).stream(), out);
    return {
      json: { record: view, out, bytes: written },
      text: `Saved "${safe(view.title)}" to ${out}.`,
    };
  }
  return { json: { record: view }, text: `${header}\n\n${content}` };
}

/** Copies a decrypted document to stdout, waiting for the pipe to drain when it is full. */
async function pipeTo(body: ReadableStream<Uint8Array>, inv: Invocation): Promise<void> {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    if (inv.io.stdout.write(value) === false) await drained(inv.io.stdout);
  }
}

function drained(sink: Sink): Promise<void> {
  return new Promise((resolve) => {
    if (typeof sink.once === 'function') sink.once('drain', () => resolve());
    else resolve();
  });
}

const edit: Command = {
  name: 'record edit',
  summary: 'Write a new version of a record (title, text, structured content or file).',
  synopsis: 'RECORD [--folder ID] [--title TITLE] [--text TEXT] [--structured JSON] [--file PATH]',
  details:
    'Unchanged parts are carried over. If someone else edited it meanwhile, nothing is overwritten.',
  options: {
    folder: { type: 'string' },
    title: { type: 'string' },
    text: { type: 'string' },
    structured: { type: 'string' },
    file: { type: 'string' },
  },
  positionals: ['RECORD'],
  async run(inv) {
    recordId(inv.positionals[0] ?? '');
    const b = await readBody(inv);
    if (Object.keys(b).length === 0)
      throw usage('Nothing to change: give --title, --text, --structured or --file.');
    const { s, folder, record } = await locate(inv);
    const current = await s.client.readRecord(folder, record);
    const input = await editedInput(s.client, folder, current, b);
    const next = await s.client.editRecord(folder, record, input, {
      expectedVersion: current.version,
    });
    return { json: { record: next }, text: summaryLine(next) };
  },
};

/** The record command group. */
export const recordCommands: readonly Command[] = [add, list, get, edit];
