/**
 * Relay administration on the data directory: statistics, backup, restore. These run on the
 * relay's machine, next to the running relay, and talk to no server: they read the data
 * directory (the database read-only, for stats and backups).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { required, type Command, type Invocation } from '../command';
import { CliError, invalidInput } from '../errors';
import { bytes } from '../format';
import { inputFile, outputFile } from '../validate';

/** The relay's admin functions, loaded on use: client commands must not pay for them. */
const admin = () => import('@carnet/server');

/** `--data DIR` of an existing relay data directory (one holding carnet.db). */
async function dataDir(inv: Invocation): Promise<string> {
  const dir = resolve(required(inv, 'data', 'DIR'));
  const db = await stat(join(dir, 'carnet.db')).catch(() => undefined);
  if (!db?.isFile()) {
    throw new CliError(
      'FILE_NOT_FOUND',
      `--data ${dir} holds no carnet.db: is it the relay's data directory?`,
    );
  }
  return dir;
}

/** Runs `fn`, turning a refused backup or restore into an input error (exit 1). */
async function refusals<T>(fn: () => Promise<T>): Promise<T> {
  const { BackupError } = await admin();
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BackupError) throw invalidInput(`${e.message}. Nothing was changed.`);
    throw e;
  }
}

const stats: Command = {
  name: 'admin stats',
  summary: 'Counts only: accounts per role, folders, records, files, bytes, active grants.',
  synopsis: '--data DIR',
  details: [
    'Reads the database read-only (the relay may be running). Prints totals only: never a name,',
    'an id, or a figure per practitioner or per patient.',
  ].join('\n'),
  options: { data: { type: 'string' } },
  async run(inv) {
    const dir = await dataDir(inv);
    const { relayStats, formatStats } = await admin();
    const s = relayStats(dir);
    return { json: { ...s }, text: formatStats(s) };
  },
};

const backup: Command = {
  name: 'admin backup',
  summary: 'Consistent online backup of the data directory into one file (mode 600).',
  synopsis: '--data DIR --out FILE',
  details: [
    'Safe while the relay runs and writes: the database is copied in one consistent instant',
    '(SQLite online backup), then the files it refers to; plus secret.key and relay-signing.key.',
    "The file holds the relay's secrets and all its (encrypted) data: keep it like the server.",
    '',
    'Example:',
    '  carnet admin backup --data /srv/carnet --out /backup/carnet-$(date +%F).tar',
  ].join('\n'),
  options: { data: { type: 'string' }, out: { type: 'string' } },
  async run(inv) {
    const dir = await dataDir(inv);
    const out = await outputFile('out', resolve(required(inv, 'out', 'FILE')));
    const { backupRelay } = await admin();
    const { manifest } = await refusals(() => backupRelay({ dataDir: dir, out }));
    const lines = [
      `Backup written to ${out}: ${manifest.blobs} file(s) (${bytes(manifest.blobBytes)}), ` +
        `database schema v${manifest.schemaVersion}, taken at ${new Date(manifest.createdAt).toISOString()}.`,
    ];
    if (manifest.droppedFolders.length > 0 || manifest.skipped.length > 0) {
      lines.push(
        `Deleted while the backup ran, so left out: ${manifest.droppedFolders.length} folder(s), ` +
          `${manifest.skipped.length} file(s).`,
      );
    }
    return {
      json: {
        backup: {
          file: out,
          createdAt: manifest.createdAt,
          schemaVersion: manifest.schemaVersion,
          blobs: manifest.blobs,
          blobBytes: manifest.blobBytes,
          droppedFolders: manifest.droppedFolders.length,
          skippedBlobs: manifest.skipped.length,
        },
      },
      text: lines.join('\n'),
    };
  },
};

const restore: Command = {
  name: 'admin restore',
  summary: 'Restore a backup into an empty (or new) data directory, after checking it.',
  synopsis: '--from FILE --data DIR',
  details: [
    'Refuses a directory that is not empty. Checks the database (integrity, foreign keys) and',
    'every file (size and SHA-256 against its row) before putting the directory in place.',
    'Clients that saw newer data than the backup will report a rollback: tell your users.',
  ].join('\n'),
  options: { from: { type: 'string' }, data: { type: 'string' } },
  async run(inv) {
    const from = resolve(required(inv, 'from', 'FILE'));
    await inputFile('from', from);
    const dir = resolve(required(inv, 'data', 'DIR'));
    const { restoreRelay } = await admin();
    const { manifest } = await refusals(() => restoreRelay({ from, dataDir: dir }));
    return {
      json: {
        restored: {
          dataDir: dir,
          createdAt: manifest.createdAt,
          schemaVersion: manifest.schemaVersion,
          blobs: manifest.blobs,
        },
      },
      text:
        `Restored into ${dir}: ${manifest.blobs} file(s), state of ` +
        `${new Date(manifest.createdAt).toISOString()}. Start it with: carnet server --data ${dir}`,
    };
  },
};

/** Relay administration on the data directory: statistics, backup, restore. */
export const adminCommands: readonly Command[] = [stats, backup, restore];
