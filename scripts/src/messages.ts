/**
 * The one table of human messages: every core error code, every relay error code and every
 * CLI error code maps to an English sentence saying what went wrong and what to do, and to an
 * exit code. Tests iterate over the code lists so that a new code cannot go unmapped.
 */
import type { CarnetErrorCode } from '@carnet/shared/errors';
import { EXIT, type CliErrorCode, type ExitCode } from './errors';

/** Error codes of the relay's HTTP API (docs/api.md, "Errors"). */
export const RELAY_ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION',
  'DIGEST_MISMATCH',
  'UNAUTHENTICATED',
  'FORBIDDEN_ORIGIN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'QUOTA_EXCEEDED',
  'UNSUPPORTED_MEDIA_TYPE',
  'RANGE_NOT_SATISFIABLE',
  'RATE_LIMITED',
  'INTERNAL',
  'UNAVAILABLE',
  'FOLDER_DELETED',
] as const;

/** Machine-readable reason of an error answer from the relay. */
export type RelayErrorCode = (typeof RELAY_ERROR_CODES)[number];

/** Every code the CLI can report in `{"error":{"code"}}`. */
export type ErrorCode = CarnetErrorCode | RelayErrorCode | CliErrorCode;

/** What a message may mention; commands fill in what they know. */
export interface MessageContext {
  /** The relay URL. */
  server: string;
  /** The logged-in (or logging-in) account name. */
  user?: string | undefined;
  /** Another account the command is about (fingerprint, share). */
  subject?: string | undefined;
  /** Folder id the command is about. */
  folder?: string | undefined;
  /** Record id the command is about. */
  record?: string | undefined;
  /** The original error's own message (detail from the core, the relay or the CLI). */
  detail: string;
  /** Seconds to wait, from the relay's `Retry-After`. */
  retryAfter?: number | undefined;
}

interface Entry {
  exit: ExitCode;
  text: (c: MessageContext) => string;
}

/** `detail` ending with a full stop, to be followed by another sentence. */
const sentence = (detail: string): string => (/[.!?]$/.test(detail) ? detail : `${detail}.`);
const who = (c: MessageContext): string => c.user ?? 'this account';
const other = (c: MessageContext): string => c.subject ?? 'this account';
const tampering = 'The relay may be misbehaving: nothing was shown or changed.';

function notFound(c: MessageContext): string {
  if (c.record !== undefined) {
    return (
      `Record ${c.record} was not found${c.folder ? ` in folder ${c.folder}` : ''}, or you may ` +
      `not read it. Check the id with \`carnet record list --folder ID\`.`
    );
  }
  if (c.folder !== undefined) {
    return (
      `Folder ${c.folder} was not found, or you are not (or no longer) a member of it. ` +
      `Check the id with \`carnet patient list\`.`
    );
  }
  if (c.subject !== undefined) {
    return `There is no account named ${c.subject} on ${c.server}. Check the spelling.`;
  }
  return `Not found on ${c.server} (${c.detail}).`;
}

function conflict(c: MessageContext): string {
  if (/userName already taken/.test(c.detail)) {
    return `The name ${who(c)} is already taken on ${c.server}. Choose another --user.`;
  }
  if (/already a member/.test(c.detail)) return 'You are already a member of this folder.';
  return (
    `Someone else changed this at the same time (${c.detail}). Nothing was overwritten: ` +
    'look again, then retry.'
  );
}

const CORE: Record<CarnetErrorCode, Entry> = {
  INTEGRITY: {
    exit: EXIT.security,
    text: () =>
      `Data from the relay failed its integrity check (altered, or wrong key). ${tampering}`,
  },
  CONTEXT_MISMATCH: {
    exit: EXIT.security,
    text: () =>
      `The relay served an object that belongs to another folder, record or epoch. ${tampering}`,
  },
  KEY_CHANGED: {
    exit: EXIT.security,
    text: (c) =>
      `The safety code of ${other(c)} changed since you pinned it. Compare the new code with ` +
      `them over another channel, then run \`carnet fingerprint ${c.subject ?? 'USER'} --accept CODE\`.`,
  },
  KEY_UNVERIFIED: {
    exit: EXIT.security,
    text: (c) =>
      `The safety code does not match the keys of ${other(c)} (or their key bundle is not ` +
      `validly signed). Nothing was done. Compare the code with them over another channel.`,
  },
  ACL_UNSIGNED: {
    exit: EXIT.security,
    text: () => `The folder's member list is not signed by its owner. ${tampering}`,
  },
  UNAUTHORIZED_AUTHOR: {
    exit: EXIT.security,
    text: () => `A record was signed by someone not allowed to write in this folder. ${tampering}`,
  },
  ROLLBACK: {
    exit: EXIT.security,
    text: () =>
      `The relay served an older state than one you already saw. ${tampering} ` +
      `If the relay was restored from a backup, ask its operator.`,
  },
  RECORD_MISSING: {
    exit: EXIT.security,
    text: () => `A record listed in the folder's signed manifest is missing. ${tampering}`,
  },
  DOWNGRADE: {
    exit: EXIT.security,
    text: () => `The relay served data in a format this version no longer accepts. ${tampering}`,
  },
  TRUNCATED: {
    exit: EXIT.security,
    text: () =>
      'Data from the relay ends too early: refused, nothing was saved. Try again; if it ' +
      'persists, the relay may be misbehaving.',
  },
  KDF_TOO_WEAK: {
    exit: EXIT.security,
    text: (c) =>
      `The password settings served for ${who(c)} are weaker than required or than before: ` +
      `refused, your password was not used. ${tampering}`,
  },
  GRANT_EXPIRED: {
    exit: EXIT.refused,
    text: () =>
      'This support grant has expired or was revoked. Ask the practitioner for a new one.',
  },
  GRANT_NOT_YET_VALID: {
    exit: EXIT.refused,
    text: () => 'This support grant is not valid yet. Check your clock, or wait until it starts.',
  },
  GRANT_SCOPE: {
    exit: EXIT.refused,
    text: () =>
      'This is outside the scope of your support grant. Ask the practitioner to widen it.',
  },
  GRANT_RIGHTS: {
    exit: EXIT.refused,
    text: () => 'Your support grant does not give that right (read or import only).',
  },
  FORMAT: {
    exit: EXIT.security,
    text: (c) =>
      `Malformed data refused: ${sentence(c.detail)} Nothing was shown or changed; ` +
      'if it came from the relay, the relay may be misbehaving.',
  },
  INVALID_ARGUMENT: {
    exit: EXIT.usage,
    text: (c) => `Invalid argument: ${sentence(c.detail)} See \`carnet help\`.`,
  },
  BAD_RECOVERY_CODE: {
    exit: EXIT.refused,
    text: (c) =>
      `That recovery code does not open the account ${who(c)}. Check it for typing mistakes ` +
      `and try again.`,
  },
  BAD_PASSWORD: {
    exit: EXIT.refused,
    text: (c) =>
      `Wrong password for ${who(c)}. Try again, or use \`carnet recover\` with your recovery code.`,
  },
  UNSUPPORTED: {
    exit: EXIT.refused,
    text: (c) =>
      `This Node.js lacks something Carnet needs (${c.detail}). Use Node 20.19 or newer.`,
  },
  AUDIT_BROKEN: {
    exit: EXIT.security,
    text: () =>
      'The audit log served by the relay was rewritten, truncated or forked since this device ' +
      `last saw it. ${tampering} Ask the relay's operator.`,
  },
};

const RELAY: Record<RelayErrorCode, Entry> = {
  BAD_REQUEST: {
    exit: EXIT.refused,
    text: (c) =>
      `The relay refused the request as malformed (${c.detail}). This is a bug: report it.`,
  },
  VALIDATION: {
    exit: EXIT.refused,
    text: (c) =>
      `The relay refused the request (${c.detail}). Check your input; if it looks right, report it.`,
  },
  DIGEST_MISMATCH: {
    exit: EXIT.refused,
    text: () => 'The upload was damaged on the way (checksum mismatch). Try again.',
  },
  UNAUTHENTICATED: {
    exit: EXIT.refused,
    text: (c) =>
      `Your session on ${c.server} expired or was revoked. Run \`carnet login\` ` +
      `(or set CARNET_PASSWORD) and try again.`,
  },
  FORBIDDEN_ORIGIN: {
    exit: EXIT.refused,
    text: () => 'The relay refused the request origin (a CSRF check). This is a bug: report it.',
  },
  NOT_FOUND: { exit: EXIT.refused, text: notFound },
  CONFLICT: { exit: EXIT.refused, text: conflict },
  PAYLOAD_TOO_LARGE: {
    exit: EXIT.refused,
    text: () => 'This is larger than the relay accepts. Split the file, or ask the operator.',
  },
  QUOTA_EXCEEDED: {
    exit: EXIT.refused,
    text: (c) => `${who(c)} has used up the storage quota on this relay. Ask its operator.`,
  },
  UNSUPPORTED_MEDIA_TYPE: {
    exit: EXIT.refused,
    text: () => 'The relay refused the content type. This is a bug: report it.',
  },
  RANGE_NOT_SATISFIABLE: {
    exit: EXIT.refused,
    text: () => 'The relay could not serve that part of the file. Try again.',
  },
  RATE_LIMITED: {
    exit: EXIT.refused,
    text: (c) =>
      `Too many attempts: the relay asks to wait${
        c.retryAfter !== undefined ? ` ${c.retryAfter} s` : ''
      } before trying again.`,
  },
  INTERNAL: {
    exit: EXIT.refused,
    text: () => 'The relay hit an internal error. Try again later, or ask its operator.',
  },
  UNAVAILABLE: {
    exit: EXIT.unreachable,
    text: () => 'The relay is shutting down or unavailable. Try again in a moment.',
  },
  FOLDER_DELETED: {
    exit: EXIT.refused,
    text: (c) =>
      `${c.folder !== undefined ? `Folder ${c.folder}` : 'This folder'} was deleted by its ` +
      'practitioner. Nothing of it is left on the relay.',
  },
};

// CLI errors already carry the full sentence; only the exit code is looked up here.
const passThrough = (c: MessageContext): string => c.detail;

const CLI: Record<CliErrorCode, Entry> = {
  USAGE: { exit: EXIT.usage, text: passThrough },
  INVALID_INPUT: { exit: EXIT.usage, text: passThrough },
  FILE_NOT_FOUND: { exit: EXIT.usage, text: passThrough },
  FILE_UNREADABLE: { exit: EXIT.usage, text: passThrough },
  FILE_UNWRITABLE: { exit: EXIT.usage, text: passThrough },
  LOCAL_IO: {
    exit: EXIT.localIo,
    text: (c) =>
      `A local file could not be read or written: ${sentence(c.detail)} Check the path and free space.`,
  },
  NO_PASSWORD: { exit: EXIT.usage, text: passThrough },
  PASSWORD_MISMATCH: { exit: EXIT.usage, text: passThrough },
  NO_USER: { exit: EXIT.usage, text: passThrough },
  NOT_LOGGED_IN: { exit: EXIT.refused, text: passThrough },
  OUT_REQUIRED: { exit: EXIT.usage, text: passThrough },
  RELAY_UNREACHABLE: {
    exit: EXIT.unreachable,
    text: (c) =>
      `Cannot reach the relay at ${c.server} (${c.detail}). Is it running? ` +
      'Start one with `carnet server`, or pass --server URL.',
  },
  INTERRUPTED: { exit: EXIT.interrupted, text: () => 'Interrupted.' },
  UNEXPECTED: {
    exit: EXIT.bug,
    text: (c) => `Unexpected failure: ${c.detail} This is a bug in carnet: please report it.`,
  },
};

const TABLE: Record<ErrorCode, Entry> = { ...CORE, ...RELAY, ...CLI };

/** True when `code` is one of the relay's error codes. */
export function isRelayCode(code: string): code is RelayErrorCode {
  return (RELAY_ERROR_CODES as readonly string[]).includes(code);
}

/** True when `code` has an entry in the message table. */
export function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(TABLE, code);
}

/** The human message and exit code for `code`. */
export function messageFor(
  code: ErrorCode,
  c: MessageContext,
): { message: string; exit: ExitCode } {
  const entry = TABLE[code];
  return { message: entry.text(c), exit: entry.exit };
}
