/**
 * Support grants (issue 4 §1, docs/grants.md). A practitioner grants a support agent, whose
 * safety code was compared out of band, read access to some folders or single records (or a
 * write-only import) for at most 24 hours, with a reason. The grant is signed by the
 * practitioner; the in-scope keys are wrapped to a fresh grant key pair whose private key is
 * wrapped to the agent. When a grant ends, every folder it covered is rotated to a new epoch
 * (`rotateEnded`, run at each practitioner login and unlock), so nothing written afterwards
 * opens with any key the agent held.
 */
import {
  createGrant,
  verifyGrantSignature,
  wrapGrantPrivateKeyToAgent,
  wrapKeyToGrant,
  type GrantFields,
  type GrantRight,
  type GrantScope,
} from '../grant';
import { CarnetError, invalidArgument } from '../errors';
import { newId, parseId, type AccountId, type FolderId, type GrantId, type RecordId } from '../ids';
import type { DataKey } from '../keys';
import { openDataKey } from '../record';
import { AuditClient } from './audit';
import type { ClientParts } from './client';
import type { FolderState } from './folder-state';
import { GrantReader, type GrantFolderView } from './grant-read';
import {
  GrantApi,
  type GrantAuditWire,
  type GrantEntry,
  type GrantStatus,
  type GrantWrap,
} from './grant-wire';
import { assertOwner } from './publish';
import { FolderRotator } from './rotation';
import { checkStoredVersion } from './record-verify';
import { parseJson } from './store';
import type { RecordSummary, RecordView } from './types';

export type { GrantFolderView } from './grant-read';
export type { GrantStatus } from './grant-wire';

/** A grant, as verified from its signed bytes (relay-reported times are not used). */
export interface GrantInfo {
  grantId: GrantId;
  /** My side of it. */
  role: 'practitioner' | 'agent';
  practitionerId: AccountId;
  agentId: AccountId;
  /** The agent's safety code, as the practitioner verified and signed it. */
  agentFingerprint: string;
  rights: GrantRight;
  scope: GrantScope;
  notBefore: number;
  expiresAt: number;
  /** Why; visible to the relay operator, the agent and the patient. */
  reason: string;
  createdAt: number;
  revokedAt: number | null;
  /**
   * `revoked` or `expired` if the relay or this device's clock says so; otherwise `scheduled`
   * or `active` by this device's clock.
   */
  status: GrantStatus;
}

/** What `create` needs. Exactly one of `folders` and `records` for `read`; neither for `import`. */
export interface NewGrantOptions {
  /** The agent's user name or account id (a `support` account). */
  agent: string;
  /** The agent's safety code, compared with them out of band. */
  safetyCode: string;
  folders?: string[];
  records?: { folderId: string; recordId: string }[];
  rights: GrantRight;
  /** At most 24 hours. */
  durationMs: number;
  /** Start, ms since the Unix epoch; default now. */
  notBefore?: number;
  /** Why (e.g. a ticket number), at most 500 characters; visible to the relay operator. */
  reason: string;
}

/** One event of a grant, from the relay's audit trail (`watch`). */
export interface GrantEvent {
  chainId: string;
  seq: number;
  at: number;
  type: string;
  actorId: AccountId | null;
  folderId: FolderId | null;
  recordId: RecordId | null;
  version: number | null;
  blobId: string | null;
}

/** Options of `watch`. */
export interface WatchOptions {
  onEvent: (e: GrantEvent) => void | Promise<void>;
  /** Stops watching. */
  signal?: AbortSignal;
  /** Polling interval, ms (default 2000). */
  intervalMs?: number;
}

/** What this device remembers of a grant it created (`grant/<id>` in the store). */
interface LocalGrant {
  /** Epoch of each scope folder when the grant was created. */
  epochs: Record<string, number>;
  /** Set once every folder the grant covered was rotated after it ended. */
  rotated?: boolean;
}

/** Support grants: create, list, revoke, rotate, watch; as an agent, read within a grant. */
export class GrantClient {
  readonly #api: GrantApi;
  readonly #reader: GrantReader;
  readonly #rotator: FolderRotator;

  constructor(protected readonly parts: ClientParts) {
    this.#api = new GrantApi(parts.core.api.http);
    // Its own instance over the same parts and store: viewed events share one outbox.
    this.#reader = new GrantReader(parts, this.#api, new AuditClient(parts));
    this.#rotator = new FolderRotator(parts, this.#api);
  }

  // --- practitioner -----------------------------------------------------------------------

  /**
   * Creates a grant (practitioner). The agent must be a `support` account whose safety code
   * matches (`KEY_UNVERIFIED`; a changed pinned key is `KEY_CHANGED`); I must own every scope
   * folder. `read`: the folder key of the current epoch of each folder (folder scope) or the
   * data key of every version of each record (record scope) is wrapped to the grant key.
   * `import`: the scope is one fresh id naming the import batch, and no key is wrapped.
   */
  async create(o: NewGrantOptions): Promise<GrantInfo> {
    const { core, contacts } = this.parts;
    const s = core.session;
    if (s.role !== 'practitioner') throw invalidArgument('role', 'a practitioner account');
    if (typeof o.safetyCode !== 'string') throw invalidArgument('safetyCode', 'the agent’s code');
    const scope = this.scopeOf(o);
    const agent = await contacts.get(o.agent, o.safetyCode);
    if (agent.bundle.role !== 'support') throw invalidArgument('agent', 'a support account');
    const notBefore = o.notBefore ?? core.now();
    const states = await this.ownedStates(scope, o.rights);
    const { grant, grantPrivateKey, fields } = await createGrant(s.secrets.identityPrivateKey, {
      practitionerId: s.accountId,
      agentId: agent.entry.accountId,
      agentFingerprint: agent.safetyCode,
      scope,
      rights: o.rights,
      notBefore,
      expiresAt: notBefore + o.durationMs,
      reason: o.reason,
    });
    try {
      const keyWraps = o.rights === 'read' ? await this.wrapKeys(fields, states) : [];
      const privateWrap = await wrapGrantPrivateKeyToAgent(
        agent.bundle.encryptionPublicKey,
        grantPrivateKey,
        { grantId: fields.grantId, agentId: fields.agentId },
      );
      // Remembered before sending: rotation must know the epochs even if we stop right after.
      const epochs: Record<string, number> = {};
      for (const st of states.values()) epochs[st.folderId] = st.manifest.epoch;
      await this.saveLocal(fields.grantId, { epochs });
      const entry = await this.#api.create({ grant, privateWrap, keyWraps });
      if (entry.grantId !== fields.grantId) throw new CarnetError('CONTEXT_MISMATCH');
      return this.info(entry, fields);
    } finally {
      grantPrivateKey.fill(0);
    }
  }

  /** Grants where I am the practitioner or the agent, each verified under its signer's key. */
  async list(): Promise<GrantInfo[]> {
    this.parts.core.assertLoggedIn();
    const out: GrantInfo[] = [];
    for (const e of await this.#api.list()) out.push(await this.verified(e));
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** One grant, verified. */
  async get(grantId: string): Promise<GrantInfo> {
    const id = grant(grantId);
    this.parts.core.assertLoggedIn();
    const e = await this.#api.get(id);
    if (e.grantId !== id) throw new CarnetError('CONTEXT_MISMATCH');
    return this.verified(e);
  }

  /**
   * Revokes a grant (practitioner); the relay refuses it from its very next request. Then
   * rotates at once every folder it covered.
   */
  async revoke(grantId: string): Promise<{ grant: GrantInfo; rotated: FolderId[] }> {
    const id = grant(grantId);
    this.parts.core.assertLoggedIn();
    const e = await this.#api.revoke(id);
    if (e.grantId !== id) throw new CarnetError('CONTEXT_MISMATCH');
    const info = await this.verified(e);
    const { rotated } = await this.rotateEnded();
    return { grant: info, rotated };
  }

  /**
   * Rotates every folder covered by a grant of mine that ended (expired or revoked by the
   * relay's account, or past its signed expiry by this device's clock) and whose current epoch
   * is still one the agent could hold a key for. Run automatically at each practitioner login
   * and unlock; safe to run any time (done grants are remembered here, and a folder already
   * rotated since is skipped). Resolves with the folders rotated now.
   */
  async rotateEnded(): Promise<{ rotated: FolderId[] }> {
    const s = this.parts.core.session;
    if (s.role !== 'practitioner') return { rotated: [] };
    const now = this.parts.core.now();
    const targets = new Map<FolderId, number>();
    const done: GrantId[] = [];
    for (const e of await this.#api.list()) {
      if (e.practitionerId !== s.accountId) continue;
      const local = await this.loadLocal(e.grantId);
      if (local?.rotated === true) continue;
      // Scope and expiry come from the signed bytes, never from the relay's own columns: a
      // relay that "extends" a grant does not put off the rotation.
      const fields = await verifyGrantSignature(s.bundle.identityPublicKey, e.grant);
      if (fields.grantId !== e.grantId || fields.practitionerId !== s.accountId) {
        throw new CarnetError('CONTEXT_MISMATCH', 'The relay listed a grant it mislabelled.');
      }
      if (!ended(e, fields.expiresAt, now)) continue;
      done.push(e.grantId);
      if (fields.rights !== 'read') continue;
      for (const folderId of scopeFolders(fields.scope)) {
        const limit = local?.epochs[folderId] ?? servedEpoch(e, folderId);
        targets.set(folderId, Math.max(targets.get(folderId) ?? 0, limit));
      }
    }
    const rotated = await this.#rotator.rotate(targets);
    for (const id of done) {
      const local = (await this.loadLocal(id)) ?? { epochs: {} };
      await this.saveLocal(id, { ...local, rotated: true });
    }
    return { rotated };
  }

  /** Brings grant state up to date: rotates after ended grants (see {@link rotateEnded}). */
  async sync(): Promise<{ rotated: FolderId[] }> {
    return this.rotateEnded();
  }

  /** Every event of a grant so far (practitioner), in the relay's order. */
  async events(grantId: string): Promise<GrantEvent[]> {
    const id = grant(grantId);
    this.parts.core.assertLoggedIn();
    const out: GrantEvent[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#api.audit(id, cursor);
      out.push(...page.events.map(toEvent));
      // A relay that does not move its cursor forward would keep us here forever.
      if (page.events.length === 0 || page.next === undefined || page.next === cursor) return out;
      cursor = page.next;
    }
  }

  /**
   * Follows a grant's events (practitioner) by polling the relay until `signal` aborts, or the
   * grant has ended and no new event came. Events come in the relay's order, each once.
   */
  async watch(grantId: string, o: WatchOptions): Promise<void> {
    const id = grant(grantId);
    this.parts.core.assertLoggedIn();
    const interval = o.intervalMs ?? 2000;
    let cursor: string | undefined;
    while (!aborted(o.signal)) {
      // Whether it had ended is read before the events: nothing after the end is missed.
      const entry = await this.#api.get(id);
      const over = ended(entry, entry.expiresAt, this.parts.core.now());
      const page = await this.#api.audit(id, cursor);
      for (const e of page.events) {
        if (aborted(o.signal)) return;
        await o.onEvent(toEvent(e));
      }
      if (page.next !== undefined) cursor = page.next;
      if (over && page.events.length === 0) return;
      if (page.events.length === 0) await sleep(interval, o.signal);
    }
  }

  // --- agent ------------------------------------------------------------------------------

  /** A folder within a grant (agent): profile for a folder scope, record ids for a record scope. */
  async folder(grantId: string, folderId: string): Promise<GrantFolderView> {
    return this.#reader.folder(grant(grantId), folder(folderId));
  }

  /** The in-scope records of a folder (agent), newest readable version of each. */
  async listRecords(grantId: string, folderId: string): Promise<RecordSummary[]> {
    return this.#reader.listRecords(grant(grantId), folder(folderId));
  }

  /** One record (agent), verified and decrypted; a signed "viewed" event is posted. */
  async readRecord(
    grantId: string,
    folderId: string,
    recordId: string,
    o: { version?: number } = {},
  ): Promise<RecordView> {
    return this.#reader.readRecord(grant(grantId), folder(folderId), record(recordId), o.version);
  }

  /** A document's content (agent), decrypted while it downloads. */
  async openDocument(
    grantId: string,
    folderId: string,
    recordId: string,
    o: { version?: number } = {},
  ): Promise<{ record: RecordView; body: ReadableStream<Uint8Array> }> {
    return this.#reader.openDocument(grant(grantId), folder(folderId), record(recordId), o.version);
  }

  // --- internals --------------------------------------------------------------------------

  private scopeOf(o: NewGrantOptions): GrantScope {
    const hasFolders = o.folders !== undefined;
    const hasRecords = o.records !== undefined;
    if (o.rights === 'import') {
      if (hasFolders || hasRecords) throw invalidArgument('scope', 'none for an import grant');
      return { folders: [newId<FolderId>()] };
    }
    if (hasFolders === hasRecords) throw invalidArgument('scope', 'folders or records');
    if (o.folders !== undefined) return { folders: o.folders.map(folder) };
    return {
      records: (o.records ?? []).map((r) => ({
        folderId: folder(r.folderId),
        recordId: record(r.recordId),
      })),
    };
  }

  /** The verified state of every folder a read grant names; I must own each. */
  private async ownedStates(
    scope: GrantScope,
    rights: GrantRight,
  ): Promise<Map<FolderId, FolderState>> {
    const states = new Map<FolderId, FolderState>();
    if (rights !== 'read') return states;
    for (const folderId of scopeFolders(scope)) {
      const state = await this.parts.loader.load(folderId);
      assertOwner(this.parts.core, state);
      states.set(folderId, state);
    }
    return states;
  }

  /** The keys of a read grant, wrapped to its public key. */
  private async wrapKeys(
    fields: GrantFields,
    states: ReadonlyMap<FolderId, FolderState>,
  ): Promise<GrantWrap[]> {
    const { loader, reader } = this.parts;
    const { grantId, grantPublicKey, scope } = fields;
    const out: GrantWrap[] = [];
    if ('folders' in scope) {
      for (const state of states.values()) {
        const epoch = state.manifest.epoch;
        const fk = await loader.currentKey(state);
        const wrap = await wrapKeyToGrant(grantPublicKey, fk, {
          grantId,
          folderId: state.folderId,
          epoch,
        });
        out.push({ folderId: state.folderId, recordId: null, version: null, epoch, wrap });
      }
      return out;
    }
    for (const { folderId, recordId } of scope.records) {
      const state = states.get(folderId)!;
      const { chain, stored } = await reader.history(state, recordId);
      for (const [i, v] of chain.entries()) {
        const s = stored[i]!;
        checkStoredVersion(s, v, s.signed);
        const { version, epoch } = v.fields;
        const fk = await loader.keyFor(state, epoch);
        const dek: DataKey = openDataKey(fk, s.dataKey, { folderId, recordId, version, epoch });
        try {
          const ctx = { grantId, folderId, recordId, version, epoch };
          const wrap = await wrapKeyToGrant(grantPublicKey, dek, ctx);
          out.push({ folderId, recordId, version, epoch, wrap });
        } finally {
          dek.fill(0);
        }
      }
    }
    return out;
  }

  /** A listed grant, its signed bytes verified under its practitioner's key. */
  private async verified(e: GrantEntry): Promise<GrantInfo> {
    const s = this.parts.core.session;
    const pub =
      e.practitionerId === s.accountId
        ? s.bundle.identityPublicKey
        : (await this.parts.contacts.get(e.practitionerId)).bundle.identityPublicKey;
    const fields = await verifyGrantSignature(pub, e.grant);
    if (
      fields.grantId !== e.grantId ||
      fields.practitionerId !== e.practitionerId ||
      fields.agentId !== e.agentId ||
      (fields.practitionerId !== s.accountId && fields.agentId !== s.accountId)
    ) {
      throw new CarnetError('CONTEXT_MISMATCH', 'The relay listed a grant it mislabelled.');
    }
    return this.info(e, fields);
  }

  private info(e: GrantEntry, f: GrantFields): GrantInfo {
    const now = this.parts.core.now();
    const s = this.parts.core.session;
    let status: GrantStatus;
    if (e.status === 'revoked' || e.revokedAt !== null) status = 'revoked';
    else if (e.status === 'expired' || now >= f.expiresAt) status = 'expired';
    else status = now < f.notBefore ? 'scheduled' : 'active';
    return {
      grantId: f.grantId,
      role: f.practitionerId === s.accountId ? 'practitioner' : 'agent',
      practitionerId: f.practitionerId,
      agentId: f.agentId,
      agentFingerprint: f.agentFingerprint,
      rights: f.rights,
      scope: f.scope,
      notBefore: f.notBefore,
      expiresAt: f.expiresAt,
      reason: f.reason,
      createdAt: e.createdAt,
      revokedAt: e.revokedAt,
      status,
    };
  }

  private async loadLocal(grantId: GrantId): Promise<LocalGrant | undefined> {
    const raw = await this.parts.core.store.get(this.parts.core.key(`grant/${grantId}`));
    if (raw === undefined) return undefined;
    const v = parseJson(raw) as Partial<LocalGrant> | undefined;
    if (typeof v?.epochs !== 'object' || v.epochs === null) return undefined;
    return { epochs: v.epochs, ...(v.rotated === true ? { rotated: true } : {}) };
  }

  private async saveLocal(grantId: GrantId, v: LocalGrant): Promise<void> {
    await this.parts.core.store.set(this.parts.core.key(`grant/${grantId}`), JSON.stringify(v));
  }
}

function toEvent(e: GrantAuditWire): GrantEvent {
  return {
    chainId: e.chainId,
    seq: e.seq,
    at: e.at,
    type: e.type,
    actorId: e.actorId,
    folderId: e.folderId,
    recordId: e.recordId,
    version: e.version,
    blobId: e.blobId,
  };
}

/** Has the grant ended, by the relay's word or by this device's clock (at `expiresAt`)? */
function ended(e: GrantEntry, expiresAt: number, now: number): boolean {
  return (
    e.status === 'expired' || e.status === 'revoked' || e.revokedAt !== null || now >= expiresAt
  );
}

/** The folders a scope touches (a record scope's folders, each once). */
function scopeFolders(scope: GrantScope): FolderId[] {
  if ('folders' in scope) return [...scope.folders];
  return [...new Set(scope.records.map((r) => r.folderId))];
}

/**
 * The newest epoch the relay says the grant had a key for in a folder (a grant created on
 * another device). Without any, every epoch is assumed: the folder is rotated.
 */
function servedEpoch(e: GrantEntry, folderId: FolderId): number {
  const epochs = e.keyWraps.filter((w) => w.folderId === folderId).map((w) => w.epoch);
  return epochs.length === 0 ? Number.MAX_SAFE_INTEGER : Math.max(...epochs);
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function grant(id: string): GrantId {
  return parseId<GrantId>(id, 'grantId');
}

function folder(id: string): FolderId {
  return parseId<FolderId>(id, 'folderId');
}

function record(id: string): RecordId {
  return parseId<RecordId>(id, 'recordId');
}
