/**
 * The CLI's own small JSON files in an account's state directory (next to the SDK's
 * state.json): caches and reminders that hold ids and display names only, never keys.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Reads `<dir>/<name>`; a missing or damaged file gives `fallback` (these files are caches). */
export async function readJsonFile<T>(
  dir: string,
  name: string,
  fallback: T,
  valid: (v: unknown) => v is T,
): Promise<T> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, name), 'utf8'));
    return valid(parsed) ? parsed : fallback;
  } catch {
    return fallback;
  }
}

/** Writes `<dir>/<name>` (mode 600) through a temporary file, so a crash never tears it. */
export async function writeJsonFile(dir: string, name: string, value: unknown): Promise<void> {
  // A unique temporary name: two commands run at once must not rename each other's file.
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, join(dir, name));
}

/** A plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
