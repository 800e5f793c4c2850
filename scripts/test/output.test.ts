import { describe, expect, it } from 'vitest';
import { CarnetError } from '@carnet/shared/errors';
import { CliError, EXIT } from '../src/errors';
import type { Io, Source } from '../src/io';
import { describeFailure, printFailure, printResult } from '../src/output';
import { ApiError } from '../src/sdk';

const ctx = { server: 'http://127.0.0.1:8080', user: 'dr.martin' };

function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (c: string | Uint8Array) => (out += String(c)) },
    stderr: { write: (c: string | Uint8Array) => (err += String(c)) },
    stdin: {} as Source,
    env: {},
    out: () => out,
    err: () => err,
  };
}

describe('printing', () => {
  it('prints exactly one JSON line with --json, the text otherwise', () => {
    const io = capture();
    printResult(io, true, { json: { a: 1, b: 'x\ny' }, text: 'ignored' });
    expect(io.out()).toBe('{"a":1,"b":"x\\ny"}\n');
    const human = capture();
    printResult(human, false, { json: { a: 1 }, text: 'Hello' });
    printResult(human, false, { json: {}, text: '' });
    printResult(human, false, { json: {}, text: 'done', printed: true });
    expect(human.out()).toBe('Hello\n');
  });

  it('prints failures as {"error":{code,message}} on stdout, or one stderr line', () => {
    const f = {
      code: 'NOT_FOUND',
      message: 'Folder X was not found.\nCheck it.',
      exit: EXIT.refused,
    };
    const io = capture();
    printFailure(io, true, f);
    expect(JSON.parse(io.out())).toEqual({ error: { code: 'NOT_FOUND', message: f.message } });
    expect(io.err()).toBe('');
    const human = capture();
    printFailure(human, false, f);
    expect(human.out()).toBe('');
    expect(human.err()).toBe('carnet: Folder X was not found. Check it.\n');
  });
});

describe('failure mapping', () => {
  it('maps core errors to the table, with their exit codes', () => {
    expect(describeFailure(new CarnetError('BAD_PASSWORD'), ctx)).toEqual({
      code: 'BAD_PASSWORD',
      message:
        'Wrong password for dr.martin. Try again, or use `carnet recover` with your recovery code.',
      exit: EXIT.refused,
    });
    expect(describeFailure(new CarnetError('ROLLBACK'), ctx).exit).toBe(EXIT.security);
    const bad = describeFailure(
      new CarnetError('INVALID_ARGUMENT', '"safetyCode" must be 30 digits'),
      ctx,
    );
    expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', exit: EXIT.usage });
    expect(bad.message).toBe(
      'Invalid argument: "safetyCode" must be 30 digits. See `carnet help`.',
    );
  });

  it('maps relay errors, with Retry-After', () => {
    const limited = describeFailure(
      new ApiError(429, 'RATE_LIMITED', 'slow down', { retryAfterSeconds: 30 }),
      ctx,
    );
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', exit: EXIT.refused });
    expect(limited.message).toContain('wait 30 s');
    const missing = describeFailure(new ApiError(404, 'NOT_FOUND', 'not found'), {
      ...ctx,
      folder: 'F'.repeat(22),
    });
    expect(missing.message).toContain(`Folder ${'F'.repeat(22)} was not found`);
  });

  it('reports an unreachable relay with the system reason, exit 3', () => {
    const cause = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    const f = describeFailure(
      new ApiError(0, 'NETWORK', 'The relay could not be reached.', { cause }),
      ctx,
    );
    expect(f).toMatchObject({ code: 'RELAY_UNREACHABLE', exit: EXIT.unreachable });
    expect(f.message).toContain('Cannot reach the relay at http://127.0.0.1:8080 (ECONNREFUSED)');
  });

  it('names a server that is not a relay', () => {
    const f = describeFailure(new ApiError(502, 'HTTP_502', 'Bad Gateway'), ctx);
    expect(f).toEqual({
      code: 'HTTP_502',
      message:
        'http://127.0.0.1:8080 answered HTTP 502 (Bad Gateway), not as a Carnet relay. Check --server.',
      exit: EXIT.refused,
    });
  });

  it('reports a failed local file operation with exit 5', () => {
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
      path: '/data/scan.pdf',
    });
    expect(describeFailure(e, ctx)).toEqual({
      code: 'LOCAL_IO',
      message:
        'A local file could not be read or written: /data/scan.pdf ENOSPC. Check the path and free space.',
      exit: EXIT.localIo,
    });
  });

  it('passes CLI messages through and calls anything else a bug', () => {
    expect(describeFailure(new CliError('NO_USER', 'No user given.'), ctx)).toEqual({
      code: 'NO_USER',
      message: 'No user given.',
      exit: EXIT.usage,
    });
    const bug = describeFailure(new RangeError('oops'), ctx);
    expect(bug).toMatchObject({ code: 'UNEXPECTED', exit: EXIT.bug });
    expect(bug.message).toContain('oops');
  });
});
