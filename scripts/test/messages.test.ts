import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@carnet/shared/errors';
// The relay's own table of codes: a code added there must be added to the CLI's table.
import { ERROR_STATUS } from '@carnet/server';
import { CLI_ERROR_CODES, EXIT } from '../src/errors';
import { isKnownCode, messageFor, RELAY_ERROR_CODES, type ErrorCode } from '../src/messages';

const ctx = {
  server: 'http://127.0.0.1:8080',
  user: 'dr.martin',
  subject: 'dr.bernard',
  detail: 'DETAIL',
};
const exits = new Set<number>(Object.values(EXIT));
const all: readonly ErrorCode[] = [...ERROR_CODES, ...RELAY_ERROR_CODES, ...CLI_ERROR_CODES];

describe('message table', () => {
  it.each(all)('%s has a one-line English message and a documented exit code', (code) => {
    expect(isKnownCode(code)).toBe(true);
    const { message, exit } = messageFor(code, ctx);
    expect(message.length).toBeGreaterThan(5);
    expect(message).not.toMatch(/\n/);
    expect(message).not.toMatch(/undefined|\[object/);
    expect(exits.has(exit)).toBe(true);
    expect(exit).not.toBe(EXIT.ok);
  });

  it("knows exactly the relay's error codes", () => {
    expect([...RELAY_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });

  it('has no code shared by two sources with different meanings', () => {
    expect(new Set(all).size).toBe(all.length);
  });

  it('names the user and the way out on a wrong password', () => {
    expect(messageFor('BAD_PASSWORD', ctx).message).toBe(
      'Wrong password for dr.martin. Try again, or use `carnet recover` with your recovery code.',
    );
  });

  it('treats signature and key failures as security stops, relay refusals as refusals', () => {
    for (const code of ['INTEGRITY', 'KEY_CHANGED', 'KEY_UNVERIFIED', 'ROLLBACK'] as const) {
      expect(messageFor(code, ctx).exit).toBe(EXIT.security);
    }
    for (const code of ['NOT_FOUND', 'CONFLICT', 'BAD_PASSWORD', 'UNAUTHENTICATED'] as const) {
      expect(messageFor(code, ctx).exit).toBe(EXIT.refused);
    }
    expect(messageFor('USAGE', ctx).exit).toBe(EXIT.usage);
    expect(messageFor('RELAY_UNREACHABLE', ctx).exit).toBe(EXIT.unreachable);
  });

  it('says which folder or record was not found', () => {
    const folder = 'AAAAAAAAAAAAAAAAAAAAAA';
    const record = 'BBBBBBBBBBBBBBBBBBBBBB';
    expect(messageFor('NOT_FOUND', { ...ctx, subject: undefined, folder }).message).toContain(
      `Folder ${folder} was not found`,
    );
    expect(messageFor('NOT_FOUND', { ...ctx, folder, record }).message).toContain(
      `Record ${record} was not found in folder ${folder}`,
    );
    expect(messageFor('NOT_FOUND', ctx).message).toContain('no account named dr.bernard');
  });

  it('explains conflicts by their cause', () => {
    expect(messageFor('CONFLICT', { ...ctx, detail: 'userName already taken' }).message).toBe(
      'The name dr.martin is already taken on http://127.0.0.1:8080. Choose another --user.',
    );
    expect(
      messageFor('CONFLICT', { ...ctx, detail: 'version must be 3 (latest is 3)' }).message,
    ).toContain('Nothing was overwritten');
  });

  it('passes CLI messages through and adds Retry-After to rate limits', () => {
    expect(messageFor('FILE_NOT_FOUND', ctx).message).toBe('DETAIL');
    expect(messageFor('RATE_LIMITED', { ...ctx, retryAfter: 42 }).message).toContain('42 s');
  });

  it('rejects unknown codes', () => {
    expect(isKnownCode('NOPE')).toBe(false);
    expect(isKnownCode('toString')).toBe(false);
  });
});
