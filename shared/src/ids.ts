/**
 * Branded identifiers. Ids are 16 random bytes (128 bits) in base64url, 22 characters.
 * The brand keeps a folder id from being passed where a record id is expected.
 */
import { fromBase64url, toBase64url } from './bytes';
import { invalidArgument } from './errors';
import { randomBytes } from './primitives/random';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Id of an account. */
export type AccountId = Brand<string, 'AccountId'>;
/** Id of a patient folder. */
export type FolderId = Brand<string, 'FolderId'>;
/** Id of a record (all its versions share it). */
export type RecordId = Brand<string, 'RecordId'>;
/** Id of a support grant. */
export type GrantId = Brand<string, 'GrantId'>;
/** Id of a blob in the relay's store. */
export type BlobId = Brand<string, 'BlobId'>;

const ID_RE = /^[A-Za-z0-9_-]{22}$/;

/** A fresh random id of the given brand. */
export function newId<T extends AccountId | FolderId | RecordId | GrantId | BlobId>(): T {
  return toBase64url(randomBytes(16)) as T;
}

/** Validates an id coming from outside (relay, user input) and brands it. */
export function parseId<T extends AccountId | FolderId | RecordId | GrantId | BlobId>(
  s: string,
  param = 'id',
): T {
  if (typeof s !== 'string' || !ID_RE.test(s)) throw invalidArgument(param, 'a 22-character id');
  fromBase64url(s);
  return s as T;
}

/** Is `s` syntactically an id? */
export function isId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}
