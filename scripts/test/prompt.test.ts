import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Io, Source } from '../src/io';
import { applyKeys, readSecret } from '../src/prompt';

const spec = { envVar: 'CARNET_PASSWORD', prompt: 'Password: ', what: 'password' };

function sink(): { write(c: string | Uint8Array): boolean; text(): string } {
  let out = '';
  return {
    write(c) {
      out += String(c);
      return true;
    },
    text: () => out,
  };
}

/** A fake terminal: a stream with isTTY and a recorded setRawMode. */
function tty(): Source & PassThrough & { raw: boolean[] } {
  const s = new PassThrough() as unknown as Source & PassThrough & { raw: boolean[] };
  s.isTTY = true;
  s.raw = [];
  s.setRawMode = (on: boolean) => s.raw.push(on);
  return s;
}

function io(
  stdin: Source,
  env: Record<string, string> = {},
): Io & { err: ReturnType<typeof sink> } {
  const err = sink();
  return { stdout: sink(), stderr: err, stdin, env, err };
}

describe('password prompt', () => {
  it('takes CARNET_PASSWORD without touching the terminal', async () => {
    const stdin = tty();
    await expect(readSecret(io(stdin, { CARNET_PASSWORD: 's3cret' }), spec)).resolves.toBe(
      's3cret',
    );
    expect(stdin.raw).toEqual([]);
  });

  it('fails clearly with no terminal and no variable', async () => {
    const stdin = new PassThrough() as unknown as Source;
    await expect(readSecret(io(stdin), spec)).rejects.toMatchObject({
      code: 'NO_PASSWORD',
      message: 'No password: set CARNET_PASSWORD, or run carnet in a terminal to be asked for it.',
    });
  });

  it('treats an empty variable as absent', async () => {
    const stdin = new PassThrough() as unknown as Source;
    await expect(readSecret(io(stdin, { CARNET_PASSWORD: '' }), spec)).rejects.toMatchObject({
      code: 'NO_PASSWORD',
    });
  });

  it('reads from the terminal in raw mode, without echo, and restores it', async () => {
    const stdin = tty();
    const t = io(stdin);
    const p = readSecret(t, spec);
    stdin.write('hunter');
    stdin.write('2x\u007f\r');
    await expect(p).resolves.toBe('hunter2');
    expect(stdin.raw).toEqual([true, false]);
    expect(t.err.text()).toBe('Password: \n');
  });

  it('asks twice for a new password and refuses a mismatch', async () => {
    const stdin = tty();
    const p = readSecret(io(stdin), { ...spec, confirm: true });
    stdin.write('one\r');
    await new Promise((r) => setImmediate(r));
    stdin.write('two\r');
    await expect(p).rejects.toMatchObject({ code: 'PASSWORD_MISMATCH' });
  });

  it('stops on Ctrl-C', async () => {
    const stdin = tty();
    const p = readSecret(io(stdin), spec);
    stdin.write('abc\u0003');
    await expect(p).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(stdin.raw).toEqual([true, false]);
  });
});

describe('keystrokes', () => {
  it('edits, ends and interrupts', () => {
    expect(applyKeys('', 'abc')).toEqual({ text: 'abc', state: 'typing' });
    expect(applyKeys('abc', '\b\u007fd\n')).toEqual({ text: 'ad', state: 'done' });
    expect(applyKeys('abc', '\u0015xy\r')).toEqual({ text: 'xy', state: 'done' });
    expect(applyKeys('', '\u0004')).toEqual({ text: '', state: 'interrupted' });
    expect(applyKeys('ab', '\u0004')).toEqual({ text: 'ab', state: 'done' });
    expect(applyKeys('', 'a\u001b[Ab\u001b[3~\t')).toEqual({ text: 'ab', state: 'typing' });
    expect(applyKeys('', 'é€🔑')).toEqual({ text: 'é€🔑', state: 'typing' });
    expect(applyKeys('a🔑', '\u007f')).toEqual({ text: 'a', state: 'typing' });
  });
});
