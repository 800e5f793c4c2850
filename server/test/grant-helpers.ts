/**
 * Helpers of the grant, import and rotation tests: accounts with real signed key bundles
 * (the relay verifies grant and item signatures under them), grants signed with the core's
 * `createGrant`, uploads, and direct reads of the audit table.
 */
import {
  createGrant,
  createKeyBundle,
  fingerprint,
  generateAccountKeys,
  newId as coreNewId,
  type AccountId,
  type AccountSecrets,
  type FolderId,
  type GrantId,
  type GrantRight,
  type RecordId,
} from '@carnet/shared/core';
import { expect } from 'vitest';
import type { AuditRow } from '../src/store/audit';
import { b64, digestHeader, kdf, rnd, type Api, type TestAccount, type TestRelay } from './helpers';

/** An account with its secrets and its signed key bundle. */
export interface KeyedAccount extends TestAccount {
  secrets: AccountSecrets;
  bundle: Uint8Array;
  role: 'practitioner' | 'patient' | 'support';
}

/** Registers an account with a real, signed key bundle. */
export async function keyedAccount(
  api: Api,
  role: KeyedAccount['role'] = 'practitioner',
): Promise<KeyedAccount> {
  const secrets = await generateAccountKeys();
  const accountId = coreNewId<AccountId>();
  const bundle = await createKeyBundle(secrets, { accountId, role, createdAt: 1 });
  const a = {
    accountId: accountId as string,
    userName: `${role}.${rnd(6)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`,
    authKey: rnd(32),
    recoveryAuthKey: rnd(32),
  };
  const r = await api.post<{ session: { token: string } }>('accounts', {
    accountId: a.accountId,
    userName: a.userName,
    authKey: a.authKey,
    role,
    keyBundle: Buffer.from(bundle).toString('base64url'),
    kdf: kdf(),
    keyring: b64('k'),
    recovery: { authKey: a.recoveryAuthKey, keyring: b64('r') },
  });
  expect(r.status).toBe(201);
  return { ...a, token: r.body.session.token, secrets, bundle, role };
}

/** What a test grant is about. */
export interface GrantSpec {
  folders?: string[];
  records?: { folderId: string; recordId: string }[];
  rights?: GrantRight;
  notBefore: number;
  expiresAt: number;
  grantId?: string;
  /** Overrides the practitioner id written in the grant (default: the signer). */
  practitionerId?: string;
}

/** A grant signed by `signer` with the core, base64url-encoded, with its id. */
export async function signGrant(
  signer: KeyedAccount,
  agent: KeyedAccount,
  spec: GrantSpec,
): Promise<{ grantId: string; grant: string; bytes: Uint8Array }> {
  const scope = spec.records
    ? {
        records: spec.records.map((r) => ({
          folderId: r.folderId as FolderId,
          recordId: r.recordId as RecordId,
        })),
      }
    : { folders: (spec.folders ?? []).map((f) => f as FolderId) };
  const { grant, fields } = await createGrant(signer.secrets.identityPrivateKey, {
    ...(spec.grantId === undefined ? {} : { grantId: spec.grantId as GrantId }),
    practitionerId: (spec.practitionerId ?? signer.accountId) as AccountId,
    agentId: agent.accountId as AccountId,
    agentFingerprint: fingerprint(agent.bundle),
    scope,
    rights: spec.rights ?? 'read',
    notBefore: spec.notBefore,
    expiresAt: spec.expiresAt,
    reason: 'ticket 4711',
  });
  return { grantId: fields.grantId, grant: Buffer.from(grant).toString('base64url'), bytes: grant };
}

/** A key wrap entry of a create body (the relay never opens wraps: random bytes do). */
export const wrapEntry = (
  folderId: string,
  epoch: number,
  recordId?: string,
  version?: number,
) => ({
  folderId,
  epoch,
  ...(recordId === undefined ? {} : { recordId, version }),
  wrap: rnd(90),
});

/** Uploads a blob as `token`; returns its id. */
export async function upload(api: Api, token: string, data: Buffer): Promise<string> {
  const r = await api.call<{ blobId: string }>('POST', 'blobs', {
    token,
    body: new Uint8Array(data),
    headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
  });
  expect(r.status).toBe(201);
  return r.body.blobId;
}

/** Every stored audit row of a chain, oldest first. */
export function auditRows(t: TestRelay, chainId: string): AuditRow[] {
  return t.relay.db
    .prepare<[string], AuditRow>('SELECT * FROM audit_events WHERE chain_id = ? ORDER BY seq')
    .all(chainId);
}

/** Types of a chain's events, oldest first. */
export const auditTypes = (t: TestRelay, chainId: string): string[] =>
  auditRows(t, chainId).map((r) => r.type);

/** Long sessions, so that tests can move the clock across a grant's window. */
export const LONG_SESSIONS = { idleTimeoutMs: 10 * 86_400_000, absoluteTimeoutMs: 10 * 86_400_000 };

/** One hour, ms. */
export const HOUR = 3_600_000;
