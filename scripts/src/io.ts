/**
 * The streams and environment a CLI run works with. Passing them explicitly (instead of using
 * `process` directly) lets the unit tests run commands in-process with fake streams.
 */

/** Something text and bytes can be written to (process.stdout, a file stream, a test sink). */
export interface Sink {
  write(chunk: string | Uint8Array): unknown;
  /** Set by Node on terminal streams. */
  isTTY?: boolean;
  /** Present on Node streams: waits for the `drain` event after `write` returned false. */
  once?(event: 'drain', listener: () => void): unknown;
}

/** A readable terminal or pipe (process.stdin or a test double). */
export interface Source extends NodeJS.ReadableStream {
  /** Set by Node on terminal streams. */
  isTTY?: boolean;
  /** Present on TTY streams: turns off echo and line buffering. */
  setRawMode?(mode: boolean): unknown;
}

/** Everything a command may touch outside its arguments. */
export interface Io {
  stdout: Sink;
  stderr: Sink;
  stdin: Source;
  env: Readonly<Record<string, string | undefined>>;
}

/** The real process streams and environment. */
export function processIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  };
}
