/** In-process CLI runs with captured streams, for the unit tests. */
import { PassThrough } from 'node:stream';
import { main, type MainOptions } from '../src/cli';
import type { Io, Source } from '../src/io';

/** What a run printed and returned. */
export interface Run {
  code: number;
  /** stdout as UTF-8 text. */
  stdout: string;
  /** stdout as bytes (files streamed to a pipe). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Runs `carnet argv…` in-process with a non-TTY stdin and the given environment. */
export async function run(
  argv: string[],
  env: Record<string, string> = {},
  opts: MainOptions = {},
): Promise<Run> {
  const out: Buffer[] = [];
  let stderr = '';
  const io: Io = {
    stdout: { write: (c: string | Uint8Array) => out.push(Buffer.from(c)) },
    stderr: { write: (c: string | Uint8Array) => (stderr += String(c)) },
    stdin: new PassThrough() as unknown as Source,
    env,
  };
  const code = await main(argv, io, opts);
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr };
}

/** Parses stdout as exactly one JSON object on one line, or throws. */
export function oneJson(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n');
  if (lines.length !== 2 || lines[1] !== '')
    throw new Error(`expected one line of JSON, got ${JSON.stringify(stdout)}`);
  const parsed: unknown = JSON.parse(lines[0]!);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('not a JSON object');
  return parsed as Record<string, unknown>;
}
