/**
 * Deleting folders and accounts; verifying deletion receipts.
 *
 * A deletion writes the relay's signed receipt to a small JSON file (`--receipt FILE`, by
 * default `carnet-receipt-<subject>-<id>.json` in the current directory):
 * `{ "receipt": base64url, "relayKey": base64url, "fingerprint": "…", "server": URL }`.
 * `carnet receipt verify FILE` checks it later, offline, or against the relay's pinned key.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  asKey,
  fromBase64url,
  relayKeyFingerprint,
  toBase64url,
  verifyDeletionReceipt,
  type DeletionReceiptFields,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { CarnetError } from '@carnet/shared/errors';
import { flag, optional, type Command, type Invocation } from '../command';
import { requireUser, resolveTarget } from '../config';
import { invalidInput, usage } from '../errors';
import { bytes as size } from '../format';
import { CarnetClient, isApiError, MemoryLocalStore, type DeletionResult } from '../sdk';
import { bind, password, target, type Bound } from '../session';
import { folderId as checkFolderId, outputFile, inputFile } from '../validate';

/** The JSON file a deletion leaves behind. */
export interface ReceiptFile {
  receipt: string;
  relayKey: string;
  fingerprint: string;
  server: string;
}

/** Human lines describing a verified receipt. */
function describe(f: DeletionReceiptFields): string[] {
  const c = f.counts;
  return [
    `Deleted ${f.subject} ${f.subjectId}, requested by account ${f.requestedBy},`,
    `on ${new Date(f.at).toISOString()} (relay clock).`,
    `Erased: ${c.folders} folder(s), ${c.records} record(s) in ${c.versions} version(s), ` +
      `${c.blobs} file(s) (${size(c.bytes)}), ${c.members} membership(s), ${c.grants} grant(s), ` +
      `${c.auditEvents} audit event(s).`,
  ];
}

/** The receipt's fields in JSON form. */
const fieldsJson = (f: DeletionReceiptFields) => ({ ...f, atIso: new Date(f.at).toISOString() });

/** Writes the receipt file through a temporary name. */
async function saveReceipt(path: string, r: DeletionResult, server: string): Promise<void> {
  const file: ReceiptFile = {
    receipt: toBase64url(r.receipt),
    relayKey: toBase64url(r.relayKey),
    fingerprint: r.fingerprint,
    server,
  };
  const tmp = join(dirname(path), `.receipt.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, `${JSON.stringify(file, null, 1)}\n`, { mode: 0o644 });
  await rename(tmp, path);
}

/** `--receipt FILE`, or the default name in the current directory; checked before deleting. */
async function receiptPath(inv: Invocation, subject: string, id: string): Promise<string> {
  return outputFile(
    'receipt',
    resolve(optional(inv, 'receipt') ?? `carnet-receipt-${subject}-${id}.json`),
  );
}

/** `--yes` is required: a deletion cannot be undone. */
function confirmed(inv: Invocation, what: string): void {
  if (!flag(inv, 'yes')) {
    throw usage(`This deletes ${what} on the relay for good. Run again with --yes to confirm.`);
  }
}

/** A signed-in client, keeping the password (account deletion needs it again). */
async function signedInWithPassword(inv: Invocation): Promise<{ b: Bound; pw: string }> {
  const t = target(inv);
  const user = requireUser(t);
  const b = await bind(t, user);
  const pw = await password(inv, user);
  try {
    await b.client.unlock({ password: pw });
  } catch (e) {
    if (!isApiError(e, 'UNAUTHENTICATED')) throw e;
    await b.client.login({ userName: user, password: pw });
  }
  return { b, pw };
}

const deleteOptions = {
  yes: { type: 'boolean' },
  receipt: { type: 'string' },
} as const;

const patientDelete: Command = {
  name: 'patient delete',
  summary: "Delete a patient folder you own, for everyone; saves the relay's signed receipt.",
  synopsis: '--folder ID --yes [--receipt FILE]',
  details: [
    'Deletes the folder on the relay: records, files, keys, members, invites, its audit trail.',
    'Its members see it as deleted. The receipt, signed by the relay, goes to --receipt FILE',
    '(default ./carnet-receipt-folder-<ID>.json); check it with `carnet receipt verify FILE`.',
    '',
    'Example:',
    '  carnet patient delete --folder 3dNq… --yes --receipt deletion-dupont.json',
  ].join('\n'),
  options: { folder: { type: 'string' }, ...deleteOptions },
  async run(inv) {
    const raw = optional(inv, 'folder');
    if (raw === undefined) throw usage('Missing --folder ID. See `carnet patient list`.');
    const folder = checkFolderId(raw);
    inv.context.folder = folder;
    confirmed(inv, `folder ${folder} and everything in it`);
    const out = await receiptPath(inv, 'folder', folder);
    const { b } = await signedInWithPassword(inv);
    const r = await b.client.deleteFolder(folder);
    await saveReceipt(out, r, b.target.server);
    return {
      json: { deleted: fieldsJson(r.fields), receiptFile: out, fingerprint: r.fingerprint },
      text: [...describe(r.fields), `Receipt saved to ${out} (relay key ${r.fingerprint}).`].join(
        '\n',
      ),
    };
  },
};

const accountDelete: Command = {
  name: 'account delete',
  summary: 'Delete your account and everything it owns; saves the signed receipt.',
  synopsis: '--yes [--receipt FILE]',
  details: [
    'Asks for your password again (or reads CARNET_PASSWORD). Deletes the folders you own (for',
    'every member), your memberships, your support grants and staged imports, your files, your',
    'sessions and your audit trail; the user name becomes free. Documents you added to someone',
    "else's folder stay in that folder. This device forgets the account.",
    'The receipt goes to --receipt FILE (default ./carnet-receipt-account-<ID>.json).',
  ].join('\n'),
  options: deleteOptions,
  async run(inv) {
    confirmed(inv, 'your account and everything it owns');
    const { b, pw } = await signedInWithPassword(inv);
    const accountId = b.client.account?.accountId ?? '';
    const out = await receiptPath(inv, 'account', accountId);
    const r = await b.client.deletion.deleteAccount({ password: pw });
    await saveReceipt(out, r, b.target.server);
    // The account's local state (session, pins, marks) is of no use any more.
    await rm(b.dir, { recursive: true, force: true });
    return {
      json: { deleted: fieldsJson(r.fields), receiptFile: out, fingerprint: r.fingerprint },
      text: [
        ...describe(r.fields),
        `Receipt saved to ${out} (relay key ${r.fingerprint}).`,
        `${b.user} is gone from ${b.target.server}, and from this device.`,
      ].join('\n'),
    };
  },
};

/** Parses a receipt file, or an `INVALID_INPUT` naming what is wrong. */
function parseReceiptFile(text: string, path: string): ReceiptFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw invalidInput(`${path} is not JSON: is it a receipt written by carnet?`);
  }
  const o = v as Partial<Record<keyof ReceiptFile, unknown>>;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.receipt !== 'string' ||
    typeof o.relayKey !== 'string' ||
    typeof o.fingerprint !== 'string'
  ) {
    throw invalidInput(`${path} lacks "receipt", "relayKey" or "fingerprint".`);
  }
  return {
    receipt: o.receipt,
    relayKey: o.relayKey,
    fingerprint: o.fingerprint,
    server: typeof o.server === 'string' ? o.server : '',
  };
}

const receiptVerify: Command = {
  name: 'receipt verify',
  summary: 'Check a deletion receipt: signature, relay key, and what it says was erased.',
  synopsis: 'FILE [--server URL]',
  details: [
    "Verifies the receipt's signature under the relay key stored in the file. With --server",
    '(or CARNET_SERVER) the key must also be the one pinned for that relay on this device',
    "(your account's, with --user), or, if none is pinned, the one the relay serves now.",
    'Without it, compare the printed fingerprint with the one the operator publishes.',
  ].join('\n'),
  options: {},
  positionals: ['FILE'],
  async run(inv) {
    const path = inv.positionals[0] ?? '';
    await inputFile('FILE', path);
    const file = parseReceiptFile(await readFile(path, 'utf8'), path);
    let receipt: Uint8Array;
    let key: Uint8Array;
    try {
      receipt = fromBase64url(file.receipt);
      key = fromBase64url(file.relayKey);
    } catch {
      throw invalidInput(`${path}: "receipt" and "relayKey" must be base64url.`);
    }
    if (key.length !== 32) throw invalidInput(`${path}: "relayKey" must be 32 bytes.`);
    const relayKey = asKey<IdentityPublicKey>(key);
    const fingerprint = relayKeyFingerprint(relayKey);
    if (fingerprint !== file.fingerprint) {
      throw new CarnetError(
        'INTEGRITY',
        'The fingerprint in the receipt file does not match its relay key.',
      );
    }
    const fields = await verifyDeletionReceipt(relayKey, receipt);
    const checked = await checkAgainstServer(inv, relayKey);
    const keyLine =
      checked === undefined
        ? `Signed by relay key ${fingerprint}: compare it with the one the operator publishes.`
        : `Signed by relay key ${fingerprint}, the ${checked} key of ${inv.context.server}.`;
    return {
      json: { valid: true, fields: fieldsJson(fields), fingerprint, relayCheck: checked ?? null },
      text: ['Valid receipt.', ...describe(fields), keyLine].join('\n'),
    };
  },
};

/**
 * With `--server`: the file's key must be the pinned one (or, with nothing pinned, the one
 * served now). Returns which, or undefined without `--server`.
 */
async function checkAgainstServer(
  inv: Invocation,
  key: Uint8Array,
): Promise<'pinned' | 'current' | undefined> {
  const server = optional(inv, 'server');
  if (server === undefined) return undefined;
  const t = resolveTarget(
    { server, user: optional(inv, 'as') ?? optional(inv, 'user') },
    inv.io.env,
  );
  inv.context.server = t.server;
  const client =
    t.user === undefined
      ? new CarnetClient({ relayUrl: t.server, store: new MemoryLocalStore() })
      : (await bind(t, t.user)).client;
  const pinned = await client.deletion.pinnedRelayKey();
  const expected = pinned ?? (await client.deletion.relayKey());
  if (toBase64url(expected.key) !== toBase64url(key)) {
    throw new CarnetError(
      'KEY_CHANGED',
      `The receipt is signed by relay key ${relayKeyFingerprint(asKey<IdentityPublicKey>(key))}, ` +
        `not by ${expected.fingerprint}, the ${pinned ? 'pinned' : 'current'} key of ${t.server}.`,
    );
  }
  return pinned ? 'pinned' : 'current';
}

/** Deleting folders and accounts; verifying deletion receipts. */
export const deletionCommands: readonly Command[] = [patientDelete, accountDelete, receiptVerify];
