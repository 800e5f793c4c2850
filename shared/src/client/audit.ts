/**
 * The audit trail, verified as hash chains (issue 4 §3, docs/audit.md).
 *
 * `folder()` and `account()` fetch a whole chain, check it with `verifyAuditChain` against the
 * head this device remembered (`AUDIT_BROKEN` for a rewritten, truncated or forked chain),
 * verify every client-signed event under its actor's pinned key and every grant the relay
 * attaches under its practitioner's key, and only then move the remembered head forward. Each
 * event is rendered in plain English (`text`) and as a structure a UI can translate (`words`).
 *
 * Members also sign "viewed" events after reading a record ({@link AuditClient.recordViewed}).
 * Posting one must not make the read fail, and must not be lost silently either: an event the
 * relay could not take is kept in the local store and sent again before the next audit read or
 * the next viewed event; {@link AuditClient.unsent} says how many wait.
 */
import {
  inspectClientAuditEvent,
  signClientAuditEvent,
  verifyAuditChain,
  verifyClientAuditEvent,
  type AuditEvent,
  type ClientAuditFields,
} from '../audit';
import { fromBase64url, toBase64url } from '../bytes';
import { CarnetError } from '../errors';
import { inspectGrant, verifyGrantSignature, type GrantFields } from '../grant';
import { parseId, type AccountId, type FolderId, type GrantId, type RecordId } from '../ids';
import type { IdentityPublicKey } from '../keys';
import { Namer, render, type AuditEntry, type Titles } from './audit-render';
import { wireAuditPage, type ServedAuditEvent } from './audit-wire';
import type { ClientParts } from './client';
import type { FolderState } from './folder-state';
import { isApiError } from './http';
import { corruptStore, parseJson } from './store';

export type { ServedAuditEvent } from './audit-wire';
export type { AuditEntry, AuditParty, AuditWords } from './audit-render';
export { partyText, sentence, utcMinute } from './audit-render';

/** A verified chain. */
export interface AuditTrail {
  chainId: string;
  events: AuditEntry[];
  /** The head now remembered on this device (seq 0 for an empty chain). */
  head: { seq: number; hash: Uint8Array };
  /**
   * Why record titles are missing, if they could not be read (the record list failed its own
   * checks: the error code). The trail itself is verified regardless.
   */
  titlesUnavailable?: string;
}

/** Events asked per request. */
const PAGE = 1000;
/** Unsent viewed events kept at most (the oldest are then dropped and counted). */
const OUTBOX_MAX = 1000;

interface Outbox {
  events: { path: string; event: string }[];
  /** Events the relay refused for good (4xx), or dropped because the outbox was full. */
  lost: number;
}

/** The audit trail, verified as hash chains (issue 4 §3). */
export class AuditClient {
  constructor(protected readonly parts: ClientParts) {}

  /** The audit trail of a folder I am a member of, verified from seq 1 and rendered. */
  async folder(folderId: string): Promise<AuditTrail> {
    const id = parseId<FolderId>(folderId, 'folderId');
    await this.flush();
    const state = await this.parts.loader.load(id);
    return this.#chain(`/folders/${id}/audit`, id, state);
  }

  /** The audit trail of my own account (memberships, grants as agent, deletions…). */
  async account(): Promise<AuditTrail> {
    const me = this.parts.core.session.accountId;
    await this.flush();
    return this.#chain('/accounts/me/audit', me, undefined);
  }

  /** Signs a client audit event ("viewed" a record version, optionally under a grant). */
  async signViewed(
    folderId: FolderId,
    recordId: RecordId,
    version: number,
    grantId?: GrantId,
  ): Promise<Uint8Array> {
    const s = this.parts.core.session;
    return signClientAuditEvent(s.secrets.identityPrivateKey, {
      action: 'viewed',
      actorId: s.accountId,
      folderId,
      recordId,
      version,
      grantId: grantId ?? null,
      at: this.parts.core.now(),
    });
  }

  /**
   * After an export by a member (the whole folder, or one record version): keeps and posts a
   * signed "exported" event like {@link recordViewed}. Never throws.
   */
  async recordExported(o: {
    folderId: FolderId;
    recordId?: RecordId;
    version?: number;
  }): Promise<void> {
    try {
      const s = this.parts.core.session;
      const event = await signClientAuditEvent(s.secrets.identityPrivateKey, {
        action: 'exported',
        actorId: s.accountId,
        folderId: o.folderId,
        recordId: o.recordId ?? null,
        version: o.recordId === undefined ? 0 : (o.version ?? 0),
        grantId: null,
        at: this.parts.core.now(),
      });
      await this.#queue(viewedPath(o), toBase64url(event));
    } catch {
      // As in recordViewed: the store itself failed.
    }
  }

  /**
   * Signs and posts a "viewed" event: as a member to `POST /folders/:id/audit/events`, as a
   * support agent under a grant to `POST /grants/:id/viewed`. Throws what the relay answers.
   */
  async postViewed(o: {
    folderId: FolderId;
    recordId: RecordId;
    version: number;
    grantId?: GrantId;
  }): Promise<void> {
    const event = await this.signViewed(o.folderId, o.recordId, o.version, o.grantId);
    await this.parts.core.api.http.json('POST', viewedPath(o), { event: toBase64url(event) });
  }

  /**
   * After a successful read: posts the "viewed" event, or keeps it for later if the relay
   * cannot take it now. Never throws (the read succeeded; see the module comment).
   */
  async recordViewed(o: {
    folderId: FolderId;
    recordId: RecordId;
    version: number;
    grantId?: GrantId;
  }): Promise<void> {
    try {
      const event = toBase64url(
        await this.signViewed(o.folderId, o.recordId, o.version, o.grantId),
      );
      await this.#queue(viewedPath(o), event);
    } catch {
      // The store itself failed: nothing more can be done without failing the read.
    }
  }

  /** Puts a signed event in the outbox (durably), then sends what waits. */
  async #queue(path: string, event: string): Promise<void> {
    const box = await this.#outbox();
    box.events.push({ path, event });
    if (box.events.length > OUTBOX_MAX)
      box.lost += box.events.splice(0, box.events.length - OUTBOX_MAX).length;
    await this.#saveOutbox(box);
    await this.flush();
  }

  /** Sends the viewed events still waiting; keeps those that fail for a reason that may pass. */
  async flush(): Promise<{ sent: number; waiting: number; lost: number }> {
    const box = await this.#outbox();
    let sent = 0;
    const keep: Outbox['events'] = [];
    for (const e of box.events) {
      try {
        await this.parts.core.api.http.json('POST', e.path, { event: e.event });
        sent++;
      } catch (err) {
        if (
          isApiError(err) &&
          err.status >= 400 &&
          err.status < 500 &&
          ![401, 408, 429].includes(err.status)
        ) {
          box.lost++;
        } else keep.push(e);
      }
    }
    if (sent > 0 || keep.length !== box.events.length) {
      await this.#saveOutbox({ events: keep, lost: box.lost });
    }
    return { sent, waiting: keep.length, lost: box.lost };
  }

  /** Viewed events not yet on the relay, and those lost for good (refused, or overflow). */
  async unsent(): Promise<{ waiting: number; lost: number }> {
    const box = await this.#outbox();
    return { waiting: box.events.length, lost: box.lost };
  }

  // --- chains ---------------------------------------------------------------------------------

  async #chain(path: string, chainId: string, state: FolderState | undefined): Promise<AuditTrail> {
    const core = this.parts.core;
    const served: ServedAuditEvent[] = [];
    const grants = new Map<GrantId, Uint8Array>();
    let head: { seq: number; hash: Uint8Array };
    for (;;) {
      const after = served.at(-1)?.event.seq ?? 0;
      const page = wireAuditPage(
        await core.api.http.json('GET', `${path}?after=${after}&limit=${PAGE}`),
        chainId,
      );
      if (page.events.some((e, i) => e.event.seq !== after + i + 1)) {
        throw new CarnetError('AUDIT_BROKEN', 'The audit chain is broken: events are missing.');
      }
      served.push(...page.events);
      for (const g of page.grants) grants.set(g.grantId, g.grant);
      head = page.head;
      if (page.events.length < PAGE) break;
    }
    const anchor = await this.#remembered(chainId);
    const events = served.map((s) => s.event);
    const last = verifyAuditChain(events, {
      chainId,
      ...(anchor === undefined ? {} : { anchor }),
      hashes: served.map((s) => s.hash),
    });
    // The head read with the last page must be the end of what was served.
    const lastSeq = events.at(-1)?.seq ?? 0;
    if (head.seq !== lastSeq || toBase64url(head.hash) !== toBase64url(last)) {
      throw new CarnetError('AUDIT_BROKEN', 'The audit chain is broken: its head does not match.');
    }
    const signed = await this.#verifySigned(events);
    const verifiedGrants = await this.#verifyGrants(grants, state);
    // Only forward: a concurrent call may already have remembered a longer chain.
    if (lastSeq > ((await this.#remembered(chainId))?.seq ?? 0)) {
      await core.store.set(
        core.key(`audit-head/${chainId}`),
        JSON.stringify({ seq: lastSeq, hash: toBase64url(last) }),
      );
    }
    const names = new Namer(this.parts);
    const titles = state === undefined ? undefined : await this.#titles(state);
    const entries: AuditEntry[] = [];
    for (const e of events) {
      entries.push(await render(e, signed.get(e.seq), verifiedGrants, names, titles?.map));
    }
    return {
      chainId,
      events: entries,
      head: { seq: lastSeq, hash: last },
      ...(titles?.error === undefined ? {} : { titlesUnavailable: titles.error }),
    };
  }

  /** The head this device saw last, if any (`FORMAT` if the stored value is damaged). */
  async #remembered(chainId: string): Promise<{ seq: number; hash: Uint8Array } | undefined> {
    const raw = await this.parts.core.store.get(this.parts.core.key(`audit-head/${chainId}`));
    if (raw === undefined) return undefined;
    const v = parseJson(raw) as { seq?: unknown; hash?: unknown } | undefined;
    if (typeof v?.seq !== 'number' || typeof v.hash !== 'string') throw corruptStore();
    return { seq: v.seq, hash: fromBase64url(v.hash) };
  }

  /** Client-signed events, each under its actor's pinned key bundle. */
  async #verifySigned(
    events: AuditEvent[],
  ): Promise<Map<number, { fields: ClientAuditFields; status: 'verified' | 'unverifiable' }>> {
    const out = new Map<
      number,
      { fields: ClientAuditFields; status: 'verified' | 'unverifiable' }
    >();
    for (const e of events) {
      if (e.signed === null || e.actorId === null) continue;
      const key = await this.#identityKey(e.actorId);
      if (key === undefined) {
        out.set(e.seq, { fields: inspectClientAuditEvent(e.signed), status: 'unverifiable' });
        continue;
      }
      const fields = await verifyClientAuditEvent(key, e.signed, { actorId: e.actorId });
      out.set(e.seq, { fields, status: 'verified' });
    }
    return out;
  }

  /**
   * Grants the relay attached, verified under their practitioner's key — for a folder chain,
   * the folder owner's (only the owner can grant access to a folder). A grant that does not
   * verify is a relay lying about who was let in: `ACL_UNSIGNED`.
   */
  async #verifyGrants(
    grants: Map<GrantId, Uint8Array>,
    state: FolderState | undefined,
  ): Promise<Map<GrantId, GrantFields>> {
    const out = new Map<GrantId, GrantFields>();
    for (const [grantId, bytes] of grants) {
      const claimed = inspectGrant(bytes);
      if (state !== undefined && claimed.practitionerId !== state.ownerId) {
        throw new CarnetError('ACL_UNSIGNED', 'A grant in the audit trail is not the owner’s.');
      }
      const key =
        state !== undefined ? state.ownerKey : await this.#identityKey(claimed.practitionerId);
      if (key === undefined) continue;
      const fields = await verifyGrantSignature(key, bytes);
      if (fields.grantId !== grantId) throw new CarnetError('CONTEXT_MISMATCH');
      out.set(grantId, fields);
    }
    return out;
  }

  /** An account's pinned identity key; undefined if the account no longer exists. */
  async #identityKey(accountId: AccountId): Promise<IdentityPublicKey | undefined> {
    const s = this.parts.core.session;
    if (accountId === s.accountId) return s.bundle.identityPublicKey;
    try {
      return (await this.parts.contacts.get(accountId)).bundle.identityPublicKey;
    } catch (e) {
      if (isApiError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  }

  /** Record titles (and blob → record) of a folder I am a member of. */
  async #titles(state: FolderState): Promise<{ map: Titles; error?: string }> {
    const map: Titles = { records: new Map(), blobs: new Map() };
    try {
      const list = await this.parts.reader.verifiedList(state);
      for (const s of await this.parts.reader.summaries(state, list))
        map.records.set(s.recordId, s.title);
      for (const [recordId, v] of list.latest)
        if (v.blobId !== undefined) map.blobs.set(v.blobId, recordId);
      return { map };
    } catch (e) {
      if (e instanceof CarnetError || isApiError(e)) return { map, error: e.code };
      throw e;
    }
  }

  async #outbox(): Promise<Outbox> {
    const raw = await this.parts.core.store.get(this.parts.core.key('audit-outbox'));
    if (raw === undefined) return { events: [], lost: 0 };
    const v = parseJson(raw) as Partial<Outbox> | undefined;
    if (!Array.isArray(v?.events) || typeof v.lost !== 'number') throw corruptStore();
    return { events: v.events, lost: v.lost };
  }

  async #saveOutbox(box: Outbox): Promise<void> {
    const key = this.parts.core.key('audit-outbox');
    if (box.events.length === 0 && box.lost === 0) await this.parts.core.store.delete(key);
    else await this.parts.core.store.set(key, JSON.stringify(box));
  }
}

function viewedPath(o: { folderId: FolderId; grantId?: GrantId }): string {
  return o.grantId === undefined
    ? `/folders/${o.folderId}/audit/events`
    : `/grants/${o.grantId}/viewed`;
}
