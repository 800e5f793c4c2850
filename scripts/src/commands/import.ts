/**
 * Imports (docs/fhir.md): a support agent stages FHIR bundles and files under an import grant,
 * write-only (`import --grant ID --fhir PATH | --file PATH`); the practitioner reviews, adopts
 * or rejects them (`import review`, `import adopt ID`, `import reject ID`); anyone imports FHIR
 * or a Carnet export archive into their own account (`import --fhir PATH`).
 */
import { open, readFile } from 'node:fs/promises';
import { atMostOne, flag, optional, type Command, type Invocation } from '../command';
import { invalidInput, usage } from '../errors';
import { bytes, safe, table, when } from '../format';
import { mimeType } from '../mime';
import { readSecret } from '../prompt';
import { fileToStream, importArchive } from '../sdk';
import { signedIn } from '../session';
import { id, inputFile, label } from '../validate';
import { grantId } from './grant';

/** An import id (positional ID or `--into`). */
function importId(value: string, option = 'ID'): string {
  return id(option, value, 'import', 'see `carnet import review`');
}

/** Is the file a Carnet export archive (tar, or age-encrypted) rather than FHIR JSON? */
async function isArchive(path: string): Promise<boolean> {
  const f = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await f.read(head, 0, 512, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    return (
      text.startsWith('age-encryption.org/v1\n') ||
      text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ||
      (bytesRead >= 262 && text.slice(257, 262) === 'ustar')
    );
  } finally {
    await f.close();
  }
}

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${n} ${k}`);
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

const stage: Command = {
  name: 'import',
  summary: 'Import FHIR or an export archive into your vault, or stage one under a grant.',
  synopsis:
    '(--fhir PATH | --file PATH) [--grant ID [--patient NAME] [--into IMPORT]] [--passphrase | --identity FILE]',
  details: [
    'Without --grant: imports into your own account. PATH is a FHIR R4 Bundle (JSON), a',
    'resource, NDJSON (one resource per line), or a Carnet export archive (`carnet export`;',
    'age-encrypted: --passphrase (CARNET_EXPORT_PASSPHRASE, else asked) or --identity FILE).',
    'One folder per Patient, one record per resource (docs/fhir.md).',
    '',
    'With --grant ID (a support agent under an import grant): encrypts the bundle or file to',
    'the practitioner and stages it for review. You cannot read it back. Each staging opens a',
    'new import (one patient) unless --into IMPORT adds to one; --patient names the patient.',
    '',
    'Examples:',
    '  carnet import --fhir ./patient-bundle.json',
    '  carnet import --fhir ./carnet-export.tar.age --passphrase',
    '  carnet import --grant GRANT --fhir ./Kermit.json',
    '  carnet import --grant GRANT --file ./scan.pdf --into IMPORT --patient "Kermit Trantow"',
  ].join('\n'),
  options: {
    grant: { type: 'string' },
    fhir: { type: 'string' },
    file: { type: 'string' },
    patient: { type: 'string' },
    into: { type: 'string' },
    'mime-type': { type: 'string' },
    passphrase: { type: 'boolean' },
    identity: { type: 'string' },
  },
  async run(inv) {
    atMostOne(inv, ['fhir', 'file']);
    const fhir = optional(inv, 'fhir');
    const file = optional(inv, 'file');
    if (fhir === undefined && file === undefined)
      throw usage('Give --fhir PATH or --file PATH (see `carnet help import`).');
    const grant = optional(inv, 'grant');
    const path = (fhir ?? file)!;
    await inputFile(fhir !== undefined ? 'fhir' : 'file', path);
    if (grant === undefined) {
      if (file !== undefined) throw usage('--file stages a file under --grant ID only.');
      return ownImport(inv, path);
    }
    return stageUnderGrant(inv, grantId(grant, '--grant'), fhir, file);
  },
};

async function ownImport(inv: Invocation, path: string): Promise<CommandResultLike> {
  for (const o of ['patient', 'into'])
    if (optional(inv, o) !== undefined) throw usage(`--${o} goes with --grant ID only.`);
  if (await isArchive(path)) {
    const s = await signedIn(inv);
    const passphrase = flag(inv, 'passphrase')
      ? await readSecret(inv.io, {
          envVar: 'CARNET_EXPORT_PASSPHRASE',
          prompt: 'Passphrase of the archive: ',
          confirm: false,
          what: 'passphrase',
        })
      : undefined;
    const idPath = optional(inv, 'identity');
    const identity = idPath === undefined ? undefined : await ageIdentity(idPath);
    const r = await importArchive(s.client, {
      path,
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(identity === undefined ? {} : { identity }),
    });
    return {
      json: { source: 'archive', ...r },
      text: `Imported ${r.folders} folder(s), ${r.records} record(s), ${r.files} file(s) from ${path}.`,
    };
  }
  const text = await readFile(path, 'utf8');
  const s = await signedIn(inv);
  const r = await s.client.imports.importFhir(text);
  const rows = r.folders.map((f) => [f.folderId, safe(f.profile?.name ?? '')]);
  return {
    json: {
      source: 'fhir',
      folders: r.folders.map((f) => ({ folderId: f.folderId, name: f.profile?.name ?? null })),
      counts: r.counts,
    },
    text:
      `Imported ${r.folders.length} folder(s), ${r.counts.records} record(s), ` +
      `${r.counts.files} file(s) from ${path}` +
      (r.counts.skipped > 0
        ? ` (${r.counts.skipped} document(s) without their file skipped)`
        : '') +
      `.\n${table(['FOLDER', 'PATIENT'], rows)}`,
  };
}

/** The age identity (`AGE-SECRET-KEY-1…`) in the file `--identity PATH`, as `age -i` reads. */
async function ageIdentity(path: string): Promise<string> {
  await inputFile('identity', path);
  const line = (await readFile(path, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (line === undefined) throw invalidInput(`--identity ${path} holds no AGE-SECRET-KEY-1… line.`);
  return line;
}

async function stageUnderGrant(
  inv: Invocation,
  grant: string,
  fhir: string | undefined,
  file: string | undefined,
): Promise<CommandResultLike> {
  const into = optional(inv, 'into');
  const patient = optional(inv, 'patient');
  const o = {
    ...(into === undefined ? {} : { importId: importId(into, '--into') }),
    ...(patient === undefined ? {} : { patientName: label('patient', patient, 200) }),
  };
  const s = await signedIn(inv);
  let staged;
  if (fhir !== undefined) {
    const content = await readFile(fhir);
    staged = await s.client.imports.stage(grant, { fhir: content, fileName: basename(fhir) }, o);
  } else {
    const f = await fileToStream(file!);
    const mime = optional(inv, 'mime-type') ?? mimeType(f.fileName);
    staged = await s.client.imports.stage(
      grant,
      { file: { body: f.body, size: f.size, fileName: f.fileName, mimeType: mime } },
      o,
    );
  }
  return {
    json: { grantId: grant, ...staged },
    text:
      `Staged ${safe(basename((fhir ?? file)!))} as item ${staged.item} of import ` +
      `${staged.importId} for the practitioner to review. You cannot read it back.\n` +
      `Add a file to it: carnet import --grant ${grant} --file PATH --into ${staged.importId}`,
  };
}

function basename(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

type CommandResultLike = Awaited<ReturnType<Command['run']>>;

const review: Command = {
  name: 'import review',
  summary: 'List the imports staged for you by support agents, verified and summarised.',
  synopsis: '',
  details:
    'Each import is checked (your grant, the agent’s signature on every item) and opened here.',
  options: {},
  async run(inv) {
    const s = await signedIn(inv);
    const imports = await s.client.imports.review();
    if (imports.length === 0) return { json: { imports }, text: 'No staged imports.' };
    const blocks = imports.map((i) => {
      if (i.error !== undefined) {
        return (
          `Import ${i.importId} (grant ${i.grantId}): REFUSED — ${i.error.message} ` +
          `[${i.error.code}]. Reject it: carnet import reject ${i.importId}`
        );
      }
      const rows = i.items.map((it) => [
        String(it.item),
        it.type,
        safe(it.fileName),
        bytes(it.size),
        safe(it.patients?.map((p) => p.profile.name).join(', ') ?? it.patientName ?? ''),
        it.patients === undefined
          ? ''
          : countsText(
              Object.assign({}, ...it.patients.map((p) => p.counts)) as Record<string, number>,
            ),
      ]);
      return [
        `Import ${i.importId}, ${safe(i.marking)}, staged ${when(i.createdAt)} UTC`,
        `  reason: ${safe(i.grant.reason)}; patients: ${safe(i.summary.patients.join(', '))}`,
        `  records: ${countsText(i.summary.counts)}`,
        table(['ITEM', 'TYPE', 'FILE', 'SIZE', 'PATIENT', 'RECORDS'], rows),
        `  Adopt: carnet import adopt ${i.importId}   Reject: carnet import reject ${i.importId}`,
      ].join('\n');
    });
    return { json: { imports }, text: blocks.join('\n\n') };
  },
};

const adopt: Command = {
  name: 'import adopt',
  summary: 'Adopt a staged import as ordinary folders signed by you (new keys).',
  synopsis: 'ID',
  details:
    'Creates one folder per patient (the first with the import’s id), re-encrypted under new\nkeys, then deletes the staged import. Safe to run again after an interruption.',
  options: {},
  positionals: ['ID'],
  async run(inv) {
    const idValue = importId(inv.positionals[0] ?? '');
    inv.context.folder = idValue;
    const s = await signedIn(inv);
    const r = await s.client.imports.adopt(idValue);
    const rows = r.folders.map((f) => [f.folderId, safe(f.profile?.name ?? '')]);
    return {
      json: {
        importId: idValue,
        folders: r.folders.map((f) => ({ folderId: f.folderId, name: f.profile?.name ?? null })),
        counts: r.counts,
      },
      text:
        `Adopted import ${idValue}: ${r.folders.length} folder(s), ${r.counts.records} record(s) ` +
        `written (${r.counts.files} file(s))` +
        (r.counts.existing > 0 ? `, ${r.counts.existing} already there` : '') +
        `.\n${table(['FOLDER', 'PATIENT'], rows)}`,
    };
  },
};

const reject: Command = {
  name: 'import reject',
  summary: 'Reject a staged import: the relay deletes it.',
  synopsis: 'ID',
  options: {},
  positionals: ['ID'],
  async run(inv) {
    const idValue = importId(inv.positionals[0] ?? '');
    const s = await signedIn(inv);
    await s.client.imports.reject(idValue);
    return { json: { importId: idValue, rejected: true }, text: `Rejected import ${idValue}.` };
  },
};

/** Imports: under a grant (agent), review and adoption (practitioner), own FHIR data. */
export const importCommands: readonly Command[] = [stage, review, adopt, reject];
