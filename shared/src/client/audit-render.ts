/**
 * Rendering of verified audit events: a structure a UI can translate (`words`) and one English
 * sentence (`text`), e.g. "Support agent support.alice read record “Bilan sanguin” under grant
 * G (reason: ticket 4521) on 2026-11-23 19:40 UTC". Names come from the verified, pinned
 * directory entries; titles from records this account can decrypt; grant reasons from grants
 * verified under their practitioner's key. Nothing here checks the chain (audit.ts does).
 */
import type { Role } from '../account';
import type { AuditEvent, AuditEventType, ClientAuditFields } from '../audit';
import { CarnetError } from '../errors';
import type { GrantFields } from '../grant';
import type { AccountId, BlobId, FolderId, GrantId, RecordId } from '../ids';
import type { ClientParts } from './client';
import { isApiError } from './http';

/** Someone named in an event. */
export interface AuditParty {
  accountId: AccountId;
  /** From the relay's directory (its key bundle verified and pinned); absent if unknown. */
  userName?: string;
  role?: Role;
  /** It is the logged-in account. */
  you: boolean;
}

/** The parts of an event's sentence, for a UI to translate. */
export interface AuditWords {
  who: AuditParty | null;
  action: AuditEventType;
  /** Member added or removed, invitee, deleted account. */
  subject: AuditParty | null;
  /** `title` when this account can decrypt the record. */
  record: { recordId: RecordId; title?: string; version?: number } | null;
  blobId: BlobId | null;
  /** `reason` and `agent` when the signed grant was served and verified. */
  grant: { grantId: GrantId; reason?: string; agent?: AuditParty } | null;
  folderId: FolderId | null;
  when: { at: number; utc: string };
}

/** One verified event, rendered. */
export interface AuditEntry {
  chainId: string;
  seq: number;
  at: number;
  type: AuditEventType;
  actorId: AccountId | null;
  folderId: FolderId | null;
  recordId: RecordId | null;
  version: number | null;
  grantId: GrantId | null;
  blobId: BlobId | null;
  subjectId: AccountId | null;
  /**
   * For `viewed` / `exported`: the client-signed fields, `verified` under the actor's pinned
   * key, or `unverifiable` when the actor's account no longer exists.
   */
  signed?: { fields: ClientAuditFields; status: 'verified' | 'unverifiable' };
  words: AuditWords;
  /** One English sentence. */
  text: string;
}

/** Record titles of a folder, and which record each latest blob belongs to. */
export interface Titles {
  records: Map<RecordId, string>;
  blobs: Map<BlobId, RecordId>;
}

/** Names of accounts, looked up once each. */
export class Namer {
  readonly #cache = new Map<AccountId, Promise<AuditParty>>();
  constructor(private readonly parts: ClientParts) {}

  party(accountId: AccountId): Promise<AuditParty> {
    let p = this.#cache.get(accountId);
    if (p === undefined) {
      p = this.#lookup(accountId);
      this.#cache.set(accountId, p);
    }
    return p;
  }

  async #lookup(accountId: AccountId): Promise<AuditParty> {
    const s = this.parts.core.session;
    if (accountId === s.accountId)
      return { accountId, userName: s.userName, role: s.role, you: true };
    try {
      const c = await this.parts.contacts.get(accountId);
      return { accountId, userName: c.entry.userName, role: c.bundle.role, you: false };
    } catch (e) {
      // A deleted account, or one whose keys changed: named by id, the event stays verified.
      if (isApiError(e) || e instanceof CarnetError) return { accountId, you: false };
      throw e;
    }
  }
}

const ROLE_WORD: Record<Role, string> = {
  practitioner: 'Practitioner',
  patient: 'Patient',
  support: 'Support agent',
};

/** "Support agent support.alice", "You", "Account abc…". */
export function partyText(p: AuditParty | null, capital = true): string {
  if (p === null) return capital ? 'The relay' : 'the relay';
  if (p.you) return capital ? 'You' : 'you';
  const name = p.userName ?? p.accountId;
  const role = p.role === undefined ? 'Account' : ROLE_WORD[p.role];
  return `${capital ? role : role.toLowerCase()} ${name}`;
}

/** `2026-11-23 19:40 UTC`. */
export function utcMinute(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export async function render(
  e: AuditEvent,
  signed: AuditEntry['signed'],
  grants: Map<GrantId, GrantFields>,
  names: Namer,
  titles: Titles | undefined,
): Promise<AuditEntry> {
  const recordId = e.recordId ?? (e.blobId === null ? undefined : titles?.blobs.get(e.blobId));
  const g = e.grantId === null ? undefined : grants.get(e.grantId);
  const words: AuditWords = {
    who: e.actorId === null ? null : await names.party(e.actorId),
    action: e.type,
    subject: e.subjectId === null ? null : await names.party(e.subjectId),
    record:
      recordId === undefined
        ? null
        : {
            recordId,
            ...(titles?.records.has(recordId) ? { title: titles.records.get(recordId)! } : {}),
            ...(e.version === null ? {} : { version: e.version }),
          },
    blobId: e.blobId,
    grant:
      e.grantId === null
        ? null
        : {
            grantId: e.grantId,
            ...(g === undefined ? {} : { reason: g.reason, agent: await names.party(g.agentId) }),
          },
    folderId: e.folderId,
    when: { at: e.at, utc: utcMinute(e.at) },
  };
  return {
    chainId: e.chainId,
    seq: e.seq,
    at: e.at,
    type: e.type,
    actorId: e.actorId,
    folderId: e.folderId,
    recordId: e.recordId,
    version: e.version,
    grantId: e.grantId,
    blobId: e.blobId,
    subjectId: e.subjectId,
    ...(signed === undefined ? {} : { signed }),
    words,
    text: sentence(words),
  };
}

/** The English sentence of an event. */
export function sentence(w: AuditWords): string {
  const who = partyText(w.who);
  const subject = partyText(w.subject, false);
  const rec = w.record === null ? undefined : recordText(w.record);
  const agent = w.grant?.agent === undefined ? 'a support agent' : partyText(w.grant.agent, false);
  const grant =
    w.grant === null
      ? ''
      : ` under grant ${w.grant.grantId}${w.grant.reason === undefined ? '' : ` (reason: ${w.grant.reason})`}`;
  const what: Record<AuditEventType, () => string> = {
    'folder.created': () => `${who} created the folder`,
    'keys.folder': () => `${who} fetched the folder’s keys`,
    'keys.records': () => (rec ? `${who} fetched the keys of ${rec}` : `${who} listed the records`),
    'blob.read': () => `${who} downloaded the document${rec ? ` of ${rec}` : ''}`,
    'record.written': () =>
      `${who} wrote ${w.record?.version !== undefined ? `version ${w.record.version} of ` : ''}${rec ?? 'a record'}`,
    'grant.created': () =>
      `${who} gave ${agent} access${w.grant ? ` with grant ${w.grant.grantId}` : ''}${w.grant?.reason === undefined ? '' : ` (reason: ${w.grant.reason})`}`,
    'grant.keys': () => `${who} fetched the keys${grant}`,
    'grant.read': () =>
      `${who} read ${rec ?? (w.blobId !== null ? 'a document' : 'the folder')}${grant}`,
    'grant.revoked': () => `${who} revoked grant ${w.grant?.grantId ?? ''}`.trimEnd(),
    'grant.expired': () => `Grant ${w.grant?.grantId ?? ''} of ${agent} expired`,
    'member.added': () => `${who} added ${subject} to the folder`,
    'member.removed': () => `${who} removed ${subject} from the folder`,
    'member.pending': () =>
      `${partyText(w.subject)} accepted an invitation (not yet confirmed by the owner)`,
    'invite.created': () => `${who} created an invitation`,
    'invite.revoked': () =>
      `${who} revoked an invitation${w.subject === null ? '' : ` accepted by ${subject}`}`,
    viewed: () => `${who} viewed ${rec ?? 'a record'}${grant}`,
    exported: () => `${who} exported ${rec ?? 'the folder'}${grant}`,
    'import.staged': () => `${who} staged an import${grant}`,
    'import.adopted': () => `${who} adopted an import`,
    'import.removed': () => `${who} removed an import`,
    'folder.deleted': () => `${who} deleted folder ${w.folderId ?? ''}`.trimEnd(),
    'account.deleted': () => `${partyText(w.subject ?? w.who)} deleted their account`,
  };
  return `${what[w.action]()} on ${w.when.utc}`;
}

function recordText(r: NonNullable<AuditWords['record']>): string {
  return r.title === undefined ? `record ${r.recordId}` : `record “${r.title}”`;
}
