/**
 * Printing results and failures. With `--json` every run prints exactly one JSON object on
 * stdout — the result, or `{"error":{"code","message"}}` — so that scripts can parse it
 * blindly. Without it, results are short human lines on stdout and failures one line on
 * stderr.
 */
import { isApiError, type ApiError } from './sdk';
import { isCarnetError } from '@carnet/shared/errors';
import { CliError, EXIT, type ExitCode } from './errors';
import type { Io } from './io';
import { isRelayCode, messageFor, type ErrorCode, type MessageContext } from './messages';

/** What a command hands back: the JSON object and its human rendering. */
export interface CommandResult {
  /** Printed as one line of JSON with `--json`. */
  json: Record<string, unknown>;
  /** Printed as is without `--json` (may be empty when the command wrote its own output). */
  text: string;
  /**
   * The command already printed its one JSON object or its output (long-running `server`,
   * a file streamed to stdout): print nothing more.
   */
  printed?: boolean;
  /**
   * Exit code of a command that completed but found a problem it reports in its result
   * (`admin verify-audit` on a broken trail: 4). Default 0.
   */
  exit?: ExitCode;
}

/** A failure, ready to print. */
export interface Failure {
  /** A code of the message table, or `HTTP_<status>` for a server that is not a relay. */
  code: string;
  message: string;
  exit: ExitCode;
}

/** Prints a command's result in the requested form. */
export function printResult(io: Io, json: boolean, result: CommandResult): void {
  if (result.printed) return;
  if (json) io.stdout.write(`${JSON.stringify(result.json)}\n`);
  else if (result.text !== '')
    io.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
}

/** Prints a failure: `{"error":{...}}` on stdout with `--json`, else one line on stderr. */
export function printFailure(io: Io, json: boolean, f: Failure): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: { code: f.code, message: f.message } })}\n`);
  } else {
    io.stderr.write(`carnet: ${f.message.replace(/\s*\n\s*/g, ' ')}\n`);
  }
}

/** The most specific reason fetch gave (ECONNREFUSED, ENOTFOUND…), under its wrappers. */
function networkDetail(e: Error): string {
  type Cause = { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  let reason = e.message;
  for (
    let c = e.cause as Cause, depth = 0;
    c !== undefined && c !== null && depth < 4;
    c = c.cause as Cause, depth++
  ) {
    if (typeof c.code === 'string') return c.code;
    if (typeof c.message === 'string' && c.message !== '') reason = c.message;
  }
  return reason;
}

/**
 * An HTTP answer that is not the relay's error shape (a proxy, another service on that port):
 * the SDK reports it as `HTTP_<status>`.
 */
function foreignAnswer(e: ApiError, ctx: Omit<MessageContext, 'detail'>): Failure {
  return {
    code: e.code,
    message: `${ctx.server} answered HTTP ${e.status} (${e.message}), not as a Carnet relay. Check --server.`,
    exit: EXIT.refused,
  };
}

/** A failed file-system call (ENOSPC, EACCES…), as Node reports it. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Maps anything thrown by a command to its code, human message and exit code. */
export function describeFailure(e: unknown, ctx: Omit<MessageContext, 'detail'>): Failure {
  const detail = e instanceof Error ? e.message : String(e);
  const pick = (code: ErrorCode, extra: Partial<MessageContext> = {}): Failure => ({
    code,
    ...messageFor(code, { ...ctx, detail, ...extra }),
  });
  if (e instanceof CliError) return pick(e.code);
  if (isCarnetError(e)) return pick(e.code);
  if (isApiError(e)) {
    if (e.code === 'NETWORK') return pick('RELAY_UNREACHABLE', { detail: networkDetail(e) });
    if (isRelayCode(e.code)) return pick(e.code, { retryAfter: e.retryAfterSeconds });
    return foreignAnswer(e, ctx);
  }
  if (isSystemError(e)) return pick('LOCAL_IO', { detail: `${e.path ?? ''} ${e.code}`.trim() });
  return pick('UNEXPECTED');
}
