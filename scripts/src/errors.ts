/**
 * The CLI's own failures and its exit codes. Failures from the core (`CarnetError`) and from
 * the relay keep their own codes; this module only adds what the CLI itself can detect before
 * or around them (bad arguments, missing files, no password, an unreachable relay).
 */

/**
 * Exit codes of `carnet`, documented in `carnet help` and docs (scripts rely on them):
 *
 * - 0: success
 * - 1: usage — unknown command or option, invalid value, missing file; nothing was sent
 * - 2: refused — the relay or the core refused (wrong password, unknown folder, conflict…)
 * - 3: unreachable — the relay could not be reached
 * - 4: security — a signature, key or integrity check failed; do not retry blindly
 * - 5: local I/O — a local file failed during the operation (disk full, I/O error…); a path
 *   that is missing or cannot be opened is caught first, as invalid input (1)
 * - 70: an unexpected failure of the CLI itself (a bug: please report it)
 * - 130: interrupted at a prompt (Ctrl-C)
 */
export const EXIT = {
  ok: 0,
  usage: 1,
  refused: 2,
  unreachable: 3,
  security: 4,
  localIo: 5,
  bug: 70,
  interrupted: 130,
} as const;

/** One of the values of {@link EXIT}. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Codes of the failures the CLI detects itself. */
export const CLI_ERROR_CODES = [
  'USAGE',
  'INVALID_INPUT',
  'FILE_NOT_FOUND',
  'FILE_UNREADABLE',
  'FILE_UNWRITABLE',
  'LOCAL_IO',
  'NO_PASSWORD',
  'PASSWORD_MISMATCH',
  'NO_USER',
  'NOT_LOGGED_IN',
  'OUT_REQUIRED',
  'RELAY_UNREACHABLE',
  'INTERRUPTED',
  'UNEXPECTED',
] as const;

/** Machine-readable reason of a {@link CliError}. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/**
 * A failure detected by the CLI. `message` is already the full human sentence (what went wrong
 * and what to do), so the message table passes it through; the table also gives its exit code.
 */
export class CliError extends Error {
  /** Machine-readable reason. */
  readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
  }
}

/** Shorthand for a usage error (exit 1) about a command-line argument. */
export function usage(message: string): CliError {
  return new CliError('USAGE', message);
}

/** Shorthand for an invalid option value (exit 1). */
export function invalidInput(message: string): CliError {
  return new CliError('INVALID_INPUT', message);
}
