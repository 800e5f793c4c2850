import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors';
import {
  birthDate,
  choice,
  folderId,
  inputFile,
  jsonObject,
  label,
  port,
  recordId,
  safetyCode,
  serverUrl,
  SEXES,
  userName,
} from '../src/validate';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof CliError ? e.code : 'not a CliError';
  }
  return undefined;
}

describe('validation of user input', () => {
  it('accepts real past dates only', () => {
    const now = new Date('2024-06-01T00:00:00Z');
    expect(birthDate('1950-03-14', now)).toBe('1950-03-14');
    expect(birthDate('2024-02-29', now)).toBe('2024-02-29');
    expect(birthDate('1950-03', now)).toBe('1950-03');
    expect(birthDate('1950', now)).toBe('1950');
    for (const bad of [
      '2023-02-29',
      '1950-13-01',
      '1950-3-14',
      '14/03/1950',
      '2025-01-01',
      '2025',
      '1700-01-01',
      '1950-00',
      '',
    ]) {
      expect(
        codeOf(() => birthDate(bad, now)),
        bad,
      ).toBe('INVALID_INPUT');
    }
  });

  it('names the option and the choices', () => {
    expect(choice('sex', 'female', SEXES)).toBe('female');
    expect(() => choice('sex', 'F', SEXES)).toThrow(
      '--sex must be one of female, male, other, unknown (got "F").',
    );
  });

  it('checks ids', () => {
    const id = 'abcdefghijABCDEFGHIJ_-';
    expect(folderId(id)).toBe(id);
    expect(recordId(id)).toBe(id);
    expect(() => folderId('abc')).toThrow(
      /--folder must be a folder id of 22 characters.*carnet patient list/,
    );
    expect(codeOf(() => recordId(`${id}x`))).toBe('INVALID_INPUT');
    expect(codeOf(() => recordId('abcdefghijABCDEFGHIJ+/'))).toBe('INVALID_INPUT');
  });

  it('lower-cases user names and applies the relay rule', () => {
    expect(userName('Dr.Martin')).toBe('dr.martin');
    expect(userName('a+b@c.org')).toBe('a+b@c.org');
    for (const bad of ['ab', '.abc', 'abc.', 'dr martin', 'x'.repeat(65)]) {
      expect(
        codeOf(() => userName(bad)),
        bad,
      ).toBe('INVALID_INPUT');
    }
  });

  it('normalises safety codes and refuses anything but 30 digits', () => {
    expect(safetyCode('01234-56789-01234-56789-01234-56789')).toBe(
      '01234 56789 01234 56789 01234 56789',
    );
    expect(safetyCode('012345678901234567890123456789')).toBe(
      '01234 56789 01234 56789 01234 56789',
    );
    expect(codeOf(() => safetyCode('01234 56789'))).toBe('INVALID_INPUT');
    expect(codeOf(() => safetyCode('0123456789012345678901234567ab'))).toBe('INVALID_INPUT');
  });

  it('checks relay URLs and ports', () => {
    expect(serverUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(serverUrl('https://carnet.example/relay/')).toBe('https://carnet.example/relay');
    for (const bad of ['127.0.0.1:8080', 'ftp://x', 'http://x/?a=1', 'http://u:p@x']) {
      expect(
        codeOf(() => serverUrl(bad)),
        bad,
      ).toBe('INVALID_INPUT');
    }
    expect(port('0')).toBe(0);
    expect(port('65535')).toBe(65535);
    for (const bad of ['65536', '-1', '80a', ''])
      expect(
        codeOf(() => port(bad)),
        bad,
      ).toBe('INVALID_INPUT');
  });

  it('checks labels and JSON objects', () => {
    expect(label('title', '  Consultation ')).toBe('Consultation');
    expect(codeOf(() => label('title', '   '))).toBe('INVALID_INPUT');
    expect(codeOf(() => label('title', 'a\nb'))).toBe('INVALID_INPUT');
    expect(codeOf(() => label('title', 'x'.repeat(501)))).toBe('INVALID_INPUT');
    expect(jsonObject('structured', '{"a":1}')).toEqual({ a: 1 });
    expect(() => jsonObject('structured', '{a:1}')).toThrow(/--structured is not valid JSON/);
    expect(codeOf(() => jsonObject('structured', '[1]'))).toBe('INVALID_INPUT');
    expect(codeOf(() => jsonObject('structured', 'null'))).toBe('INVALID_INPUT');
  });

  describe('input files', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'carnet-validate-'));
      await writeFile(join(dir, 'a.txt'), 'abc');
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('returns the size of a regular file', async () => {
      await expect(inputFile('file', join(dir, 'a.txt'))).resolves.toBe(3);
    });
    it('says when the file does not exist or is a directory', async () => {
      await expect(inputFile('file', join(dir, 'nope.pdf'))).rejects.toMatchObject({
        code: 'FILE_NOT_FOUND',
        message: expect.stringContaining('no such file') as unknown,
      });
      await expect(inputFile('file', dir)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
    });
  });
});
