/**
 * Validation of everything a user types, done before any network call so that a typo costs
 * nothing and the message names the option and the expected form.
 */
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError, invalidInput } from './errors';
import { isControl } from './format';

/** Account roles a user can sign up with. */
export const ROLES = ['practitioner', 'patient', 'support'] as const;
/** Values of `--sex` on a patient profile. */
export const SEXES = ['female', 'male', 'other', 'unknown'] as const;
/** Values of `--kind` on a record. */
export const KINDS = [
  'note',
  'observation',
  'condition',
  'allergy',
  'medication',
  'document',
] as const;

/** Accepts `value` if it is one of `choices`, else names the option and the choices. */
export function choice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === value);
  if (found === undefined) {
    throw invalidInput(`--${option} must be one of ${choices.join(', ')} (got "${value}").`);
  }
  return found;
}

/**
 * A birth date: `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when the day or month is unknown (FHIR
 * `date`, as the core's patient profile accepts). It must exist and not be in the future.
 */
export function birthDate(value: string, now: Date = new Date()): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  const bad = (): CliError =>
    invalidInput(`--birth-date must be a real date written YYYY-MM-DD (got "${value}").`);
  if (!m) throw bad();
  const y = Number(m[1]);
  const mo = m[2] === undefined ? 1 : Number(m[2]);
  const d = m[3] === undefined ? 1 : Number(m[3]);
  const date = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2023-02-30 over to March: a round trip detects impossible days.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    throw bad();
  }
  if (y < 1850) throw invalidInput(`--birth-date ${value} is too far in the past.`);
  if (date.getTime() > now.getTime()) {
    throw invalidInput(`--birth-date ${value} is in the future.`);
  }
  return value;
}

/** Ids are 16 random bytes in base64url (shared/src/ids.ts): 22 characters. */
const ID_RE = /^[A-Za-z0-9_-]{22}$/;

/** A folder or record id as printed by the CLI (22 base64url characters). */
export function id(option: string, value: string, what: string, whereToFind: string): string {
  if (!ID_RE.test(value)) {
    throw invalidInput(
      `${option} must be a ${what} id of 22 characters (got "${value}"); ${whereToFind}.`,
    );
  }
  return value;
}

/** A folder id (`--folder`). */
export function folderId(value: string): string {
  return id('--folder', value, 'folder', 'see `carnet patient list`');
}

/** A record id (positional RECORD). */
export function recordId(value: string): string {
  return id('RECORD', value, 'record', 'see `carnet record list --folder ID`');
}

/**
 * An account name, as the relay accepts it (docs/api.md): 3–64 characters of lower-case
 * letters, digits and `._@+-`, starting and ending with a letter or digit. Upper case is
 * lowered first, as the API asks clients to do.
 */
export function userName(value: string, option = '--user'): string {
  const v = value.toLowerCase();
  if (!/^[a-z0-9][a-z0-9._@+-]{1,62}[a-z0-9]$/.test(v)) {
    throw invalidInput(
      `${option} must be 3 to 64 characters: letters, digits, ".", "_", "@", "+" or "-", ` +
        `starting and ending with a letter or digit (got "${value}").`,
    );
  }
  return v;
}

/**
 * A safety code typed or pasted by a person: 30 digits, spaces, dashes and dots tolerated
 * (the same rule as the core's `parseSafetyCode`). Returned as 6 groups of 5 digits.
 */
export function safetyCode(value: string, option = '--fingerprint'): string {
  const digits = value.normalize('NFKC').replace(/[\s\-‐‑‒–—.·_]/g, '');
  if (!/^[0-9]{30}$/.test(digits)) {
    throw invalidInput(
      `${option} must be a safety code of 30 digits, e.g. "01234 56789 01234 56789 01234 ` +
        `56789"; ask its owner to read it to you from \`carnet whoami\`.`,
    );
  }
  return (digits.match(/.{5}/g) ?? []).join(' ');
}

/** A relay URL: http or https, no query or fragment. Returned without a trailing slash. */
export function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidInput(`--server must be a URL such as http://127.0.0.1:8080 (got "${value}").`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidInput(`--server must be an http:// or https:// URL (got "${value}").`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw invalidInput(`--server must not carry a query, fragment or credentials.`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A TCP port number; 0 asks the system for a free one. */
export function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw invalidInput(`--port must be a number from 0 to 65535 (got "${value}").`);
  }
  return Number(value);
}

/** A non-empty single-line text such as a name or a title. */
export function label(option: string, value: string, max = 500): string {
  const v = value.trim();
  if (v.length === 0) throw invalidInput(`--${option} must not be empty.`);
  if (v.length > max) throw invalidInput(`--${option} is longer than ${max} characters.`);
  if (Array.from(v).some(isControl)) {
    throw invalidInput(`--${option} must be a single line without control characters.`);
  }
  return v;
}

/** A JSON value, as `JSON.parse` produces it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A JSON object given on the command line (`--structured`). */
export function jsonObject(option: string, value: string): JsonObject {
  let parsed: Json;
  try {
    parsed = JSON.parse(value) as Json;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw invalidInput(`--${option} is not valid JSON (${why}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidInput(`--${option} must be a JSON object such as '{"code":"8480-6"}'.`);
  }
  return parsed;
}

/** Checks that `path` is an existing regular file and returns its size. */
export async function inputFile(option: string, path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) {
      throw new CliError('FILE_UNREADABLE', `--${option} ${path} is not a regular file.`);
    }
    return s.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CliError('FILE_NOT_FOUND', `--${option} ${path}: no such file. Check the path.`);
    }
    throw new CliError('FILE_UNREADABLE', `--${option} ${path} cannot be read (${code ?? e}).`);
  }
}

/**
 * Checks that a file can be created at `path` (`--out`): its directory exists and `path` is
 * not a directory. An existing file is replaced, as `curl -o` does.
 */
export async function outputFile(option: string, path: string): Promise<string> {
  const unwritable = (why: string): CliError =>
    new CliError('FILE_UNWRITABLE', `--${option} ${path}: ${why}.`);
  const target = await stat(path).catch(() => undefined);
  if (target?.isDirectory()) throw unwritable('is a directory; give a file name');
  const dir = await stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) throw unwritable(`the directory ${dirname(path)} does not exist`);
  return path;
}
