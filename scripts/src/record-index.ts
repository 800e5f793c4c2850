/**
 * Which folder a record is in, so that `record get RECORD` and `record edit RECORD` work
 * without `--folder`. The CLI remembers every record it adds or lists (ids only: both are
 * random and already stored by the relay); a record it never saw is searched for in the
 * account's folders. The index is a hint: the SDK verifies whatever it then reads.
 */
import { ApiError, type CarnetClient } from './sdk';
import { isObject, readJsonFile, writeJsonFile } from './local-files';

const FILE = 'records.json';

type Index = Record<string, unknown>;

function load(dir: string): Promise<Index> {
  return readJsonFile<Index>(dir, FILE, {}, isObject);
}

/** Remembers that `recordIds` are in `folderId`. */
export async function remember(
  dir: string,
  folderId: string,
  recordIds: readonly string[],
): Promise<void> {
  const index = await load(dir);
  const missing = recordIds.filter((r) => index[r] !== folderId);
  if (missing.length === 0) return;
  for (const r of missing) index[r] = folderId;
  await writeJsonFile(dir, FILE, index);
}

/**
 * The folder of `recordId`: `--folder` if given, else the index, else a search through the
 * account's folders (one record listing per folder, so slow for large practices).
 */
export async function folderOf(
  client: CarnetClient,
  dir: string,
  recordId: string,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) return given;
  const known = (await load(dir))[recordId];
  if (typeof known === 'string') return known;
  for (const f of await client.listFolders()) {
    if (f.status !== 'member') continue;
    const records = await client.listRecords(f.folderId);
    await remember(
      dir,
      f.folderId,
      records.map((r) => r.recordId),
    );
    if (records.some((r) => r.recordId === recordId)) return f.folderId;
  }
  // Same code as the relay's answer for a record one may not see: callers handle one case.
  throw new ApiError(404, 'NOT_FOUND', `record ${recordId} is in none of your folders`);
}
