/**
 * Exporting a folder or the whole vault as FHIR R4 with the original files, in one archive
 * (docs/export.md). The archive is encrypted to an age recipient or to a passphrase; a clear
 * archive is written only when `--clear` is given: there is no silent default.
 */
import { exportVault, type ExportEncryption, type ExportProgress } from '../sdk';
import { flag, optional, required, type Command, type Invocation } from '../command';
import { usage } from '../errors';
import { bytes } from '../format';
import { readSecret } from '../prompt';
import { signedIn } from '../session';
import { folderId, outputFile } from '../validate';

const MODES = ['age-recipient', 'passphrase', 'clear'] as const;

/**
 * The protection chosen on the command line: exactly one of the three, checked before anything
 * is sent. The passphrase itself is read later (after the account password).
 */
function chosenProtection(inv: Invocation): ExportEncryption | 'passphrase' {
  const given = MODES.filter((m) =>
    m === 'age-recipient' ? optional(inv, m) !== undefined : flag(inv, m),
  );
  if (given.length !== 1) {
    throw usage(
      given.length === 0
        ? 'Choose how the archive is protected: --age-recipient age1…, --passphrase, or ' +
            '--clear (unencrypted, for your own disk only).'
        : `Give only one of ${given.map((m) => `--${m}`).join(', ')}.`,
    );
  }
  if (given[0] === 'clear') return { clear: true };
  if (given[0] === 'passphrase') return 'passphrase';
  const r = optional(inv, 'age-recipient')!.trim();
  if (!/^age1[0-9a-z]{20,}$/.test(r))
    throw usage(`--age-recipient ${r}: not an age recipient (age1…; see \`age-keygen -y\`).`);
  return { ageRecipient: r };
}

async function passphrase(inv: Invocation): Promise<ExportEncryption> {
  return {
    passphrase: await readSecret(inv.io, {
      envVar: 'CARNET_EXPORT_PASSPHRASE',
      prompt: 'Passphrase for the archive: ',
      confirm: true,
      what: 'passphrase',
    }),
  };
}

function folderIds(inv: Invocation): string[] | undefined {
  const v = inv.values.folder;
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
  return list.map((id) => folderId(id));
}

const exportCommand: Command = {
  name: 'export',
  summary: 'Export folders as FHIR R4 with their original files, in one (encrypted) archive.',
  synopsis: '--out PATH (--age-recipient age1… | --passphrase | --clear) [--folder ID]…',
  details: [
    'Writes a tar archive: one FHIR R4 Bundle per patient and the original files, decrypted',
    'here. Without --folder, every folder you are a member of (a patient: what is shared with',
    'you). Exactly one protection is required:',
    '  --age-recipient age1…  encrypted to an age key: `age -d -i key.txt ARCHIVE > export.tar`',
    '  --passphrase           encrypted to a passphrase (CARNET_EXPORT_PASSPHRASE, else asked',
    '                         twice): `age -d ARCHIVE > export.tar` asks for it',
    '  --clear                not encrypted: only for your own disk',
    'The archive appears at --out only once complete. Progress goes to stderr.',
    '',
    'Examples:',
    '  carnet export --out vault.tar.age --age-recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
    '  carnet export --out dupont.tar --folder ID --clear',
  ].join('\n'),
  options: {
    out: { type: 'string' },
    folder: { type: 'string', multiple: true },
    'age-recipient': { type: 'string' },
    passphrase: { type: 'boolean' },
    clear: { type: 'boolean' },
  },
  async run(inv) {
    const out = await outputFile('out', required(inv, 'out', 'PATH'));
    const ids = folderIds(inv);
    if (ids?.length === 1) inv.context.folder = ids[0];
    const chosen = chosenProtection(inv);
    const s = await signedIn(inv);
    const enc = chosen === 'passphrase' ? await passphrase(inv) : chosen;
    // One line per folder; on a terminal, the line also counts the bytes as they are written.
    const tty = inv.io.stderr.isTTY === true;
    let shown = 0;
    const onProgress = (p: ExportProgress): void => {
      if (inv.json || (!tty && p.folder === shown)) return;
      const line = `Folder ${p.folder}/${p.folders}, ${bytes(p.bytes)} written`;
      if (tty) inv.io.stderr.write(`${p.folder !== shown && shown > 0 ? '\n' : '\r'}${line}`);
      else inv.io.stderr.write(`${line}\n`);
      shown = p.folder;
    };
    const summary = await exportVault(s.client, {
      out,
      ...(ids !== undefined ? { folderIds: ids } : {}),
      encryption: enc,
      onProgress,
    });
    if (tty && shown > 0 && !inv.json) inv.io.stderr.write('\n');
    const how =
      'clear' in enc
        ? 'NOT encrypted: keep it on your own disk'
        : 'ageRecipient' in enc
          ? `encrypted to ${enc.ageRecipient} (open with \`age -d -i KEYFILE\`)`
          : 'encrypted to your passphrase (open with `age -d`)';
    const text = [
      `Exported ${summary.folders} folder(s), ${summary.records} record(s), ${summary.files} ` +
        `file(s) to ${out} (${bytes(summary.bytes)}), ${how}.`,
      `SHA-256 ${summary.sha256}`,
    ].join('\n');
    const protection =
      'clear' in enc ? 'clear' : 'ageRecipient' in enc ? 'age-recipient' : 'passphrase';
    return { json: { export: { out, protection, ...summary } }, text };
  },
};

/** Exporting a folder or the whole vault as FHIR R4 with the original files. */
export const exportCommands: readonly Command[] = [exportCommand];
