/**
 * Secrets (passwords, recovery codes) come from an environment variable or from a prompt on
 * the terminal with echo turned off. They are never command-line options: those show up in
 * `ps` and in shell history.
 */
import { CliError } from './errors';
import { isControl } from './format';
import type { Io } from './io';

/** Where a secret may come from and how to ask for it. */
export interface SecretSpec {
  /** Environment variable checked first, e.g. `CARNET_PASSWORD`. */
  envVar: string;
  /** Prompt shown on stderr, e.g. `Password for dr.martin: `. */
  prompt: string;
  /** Ask twice and compare (new passwords), when prompting. */
  confirm?: boolean;
  /** What the secret is, for error messages, e.g. `password`. */
  what: string;
}

/**
 * Returns the secret from `spec.envVar`, or reads it from the terminal without echo. With no
 * terminal and no variable, fails with `NO_PASSWORD` naming the variable to set.
 */
export async function readSecret(io: Io, spec: SecretSpec): Promise<string> {
  const fromEnv = io.env[spec.envVar];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!io.stdin.isTTY || typeof io.stdin.setRawMode !== 'function') {
    throw new CliError(
      'NO_PASSWORD',
      `No ${spec.what}: set ${spec.envVar}, or run carnet in a terminal to be asked for it.`,
    );
  }
  const first = await readHidden(io, spec.prompt);
  if (first === '') throw new CliError('NO_PASSWORD', `The ${spec.what} must not be empty.`);
  if (spec.confirm) {
    const second = await readHidden(io, `Repeat the ${spec.what}: `);
    if (second !== first) {
      throw new CliError(
        'PASSWORD_MISMATCH',
        `The two ${spec.what}s differ. Run the command again.`,
      );
    }
  }
  return first;
}

/** Reads one line from a TTY in raw mode, echoing nothing. */
export function readHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.stderr.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let buf = '';
    const finish = (err?: CliError): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: Buffer | string): void => {
      const step = applyKeys(buf, typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      buf = step.text;
      if (step.state === 'done') finish();
      else if (step.state === 'interrupted') {
        finish(new CliError('INTERRUPTED', 'Interrupted.'));
      }
    };
    stdin.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** What {@link applyKeys} made of a chunk of keystrokes. */
export interface KeyStep {
  text: string;
  state: 'typing' | 'done' | 'interrupted';
}

/**
 * Applies raw keystrokes to the text typed so far: Enter ends, Ctrl-C or Ctrl-D on an empty
 * line interrupts, Backspace deletes, Ctrl-U clears; escape sequences (arrow and function
 * keys) and other control characters are ignored so that they never end up in a password.
 * A pure function so that the terminal logic is tested without a terminal.
 */
export function applyKeys(text: string, keys: string): KeyStep {
  let t = text;
  let esc: 'none' | 'esc' | 'seq' = 'none';
  for (const ch of keys) {
    if (esc === 'esc') esc = ch === '[' || ch === 'O' ? 'seq' : 'none';
    else if (esc === 'seq') esc = /^[A-Za-z~]$/.test(ch) ? 'none' : 'seq';
    else if (ch === '\u001b') esc = 'esc';
    else if (ch === '\r' || ch === '\n') return { text: t, state: 'done' };
    else if (ch === '\u0003') return { text: '', state: 'interrupted' };
    else if (ch === '\u0004')
      return t === '' ? { text: '', state: 'interrupted' } : { text: t, state: 'done' };
    else if (ch === '\u007f' || ch === '\b') t = Array.from(t).slice(0, -1).join('');
    else if (ch === '\u0015') t = '';
    else if (!isControl(ch)) t += ch;
  }
  return { text: t, state: 'typing' };
}
