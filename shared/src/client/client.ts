/**
 * `CarnetClient`: the SDK's one entry point (docs/sdk.md). Every method verifies what the
 * relay returns before using it; relay failures are `ApiError`, failed checks `CarnetError`.
 */
import type { Role } from '../account';
import type { PatientProfile } from '../folder';
import { invalidArgument } from '../errors';
import { parseId, type AccountId, type FolderId, type RecordId } from '../ids';
import { newId } from '../ids';
import { AuditClient } from './audit';
import { Contacts, toContact } from './contacts';
import { Core } from './core';
import { DeletionClient, type DeletionResult } from './deletion';
import { FolderLoader } from './folder-state';
import { Folders } from './folders';
import { GrantClient } from './grants';
import { ApiError, isApiError } from './http';
import { ImportClient } from './imports';
import { Invites } from './invites';
import { RecordWriter, type UploadSpool } from './record-write';
import { RecordReader, summaryOf } from './records';
import * as auth from './session';
import { MemoryLocalStore } from './store';
import type {
  AccountInfo,
  AdmittedPatient,
  ClientOptions,
  Contact,
  CreatedInvite,
  FolderDetails,
  FolderSummary,
  RecordInput,
  RecordSummary,
  RecordView,
} from './types';

/** Options of {@link CarnetClient}, with the Node-only spool for large uploads. */
export interface CarnetClientOptions extends ClientOptions {
  /**
   * Stages large document ciphertexts so their digest is known before upload (the relay
   * requires `Content-Digest`); `tempFileSpool()` from `@carnet/shared/client/node`.
   */
  spool?: UploadSpool;
}

/** The SDK's internal parts, handed to the area clients (grants, imports, audit, deletion). */
export interface ClientParts {
  core: Core;
  contacts: Contacts;
  loader: FolderLoader;
  reader: RecordReader;
  writer: RecordWriter;
  folders: Folders;
  invites: Invites;
}

/** The Carnet client SDK. */
export class CarnetClient {
  /** Support grants: create, list, revoke, watch; as an agent, read within a grant. */
  readonly grants: GrantClient;
  /** Write-only imports under a grant (agent), review and adoption (practitioner). */
  readonly imports: ImportClient;
  /** The audit trail of my folders and of my account, verified as hash chains. */
  readonly audit: AuditClient;
  /** Deleting folders and accounts, with relay-signed receipts. */
  readonly deletion: DeletionClient;
  readonly #core: Core;
  readonly #contacts: Contacts;
  readonly #loader: FolderLoader;
  readonly #reader: RecordReader;
  readonly #writer: RecordWriter;
  readonly #folders: Folders;
  readonly #invites: Invites;

  constructor(options: CarnetClientOptions) {
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#core = new Core({
      relayUrl: options.relayUrl,
      store: options.store ?? new MemoryLocalStore(),
      fetch: fetchImpl,
      appUrl: options.appUrl ?? options.relayUrl,
      now: options.now ?? Date.now,
    });
    this.#contacts = new Contacts(this.#core);
    this.#loader = new FolderLoader(this.#core, this.#contacts);
    this.#reader = new RecordReader(this.#core, this.#loader, this.#contacts);
    this.#writer = new RecordWriter(this.#core, this.#loader, options.spool);
    this.#folders = new Folders(this.#core, this.#loader, this.#contacts, this.#reader);
    this.#invites = new Invites(this.#core, this.#loader, this.#contacts, this.#folders);
    const parts: ClientParts = {
      core: this.#core,
      contacts: this.#contacts,
      loader: this.#loader,
      reader: this.#reader,
      writer: this.#writer,
      folders: this.#folders,
      invites: this.#invites,
    };
    this.grants = new GrantClient(parts);
    this.imports = new ImportClient(parts);
    this.audit = new AuditClient(parts);
    this.deletion = new DeletionClient(parts);
  }

  // --- accounts -------------------------------------------------------------------------------

  /** The logged-in account, if any (no network). */
  get account(): AccountInfo | undefined {
    const s = this.#core.maybeSession;
    return s === undefined ? undefined : auth.accountInfo(s);
  }

  /** Creates an account and logs it in. Show `recoveryCode` once: it is stored nowhere. */
  async signUp(o: {
    userName: string;
    password: string;
    role: Role;
  }): Promise<{ account: AccountInfo; recoveryCode: string }> {
    this.#reset();
    return auth.signUp(this.#core, o);
  }

  /**
   * Logs in (pre-login, KDF checks, Argon2id, keyring). Wrong credentials: `BAD_PASSWORD`.
   * A practitioner's client then rotates the folders of support grants that ended
   * (`grants.rotateEnded`); if that fails, `login` rejects with its error although the session
   * is open (docs/grants.md): nothing should be written before the rotation is done.
   */
  async login(o: { userName: string; password: string }): Promise<AccountInfo> {
    this.#reset();
    const info = await auth.login(this.#core, o);
    await this.grants.rotateEnded();
    return info;
  }

  /** Resumes the saved session with the password (no new login); rotates as `login` does. */
  async unlock(o: { password: string }): Promise<AccountInfo> {
    this.#reset();
    const info = await auth.unlock(this.#core, o);
    await this.grants.rotateEnded();
    return info;
  }

  /** Logs in with the recovery code, sets a new password; returns a new recovery code. */
  async recover(o: {
    userName: string;
    recoveryCode: string;
    newPassword: string;
  }): Promise<{ account: AccountInfo; recoveryCode: string }> {
    this.#reset();
    return auth.recover(this.#core, o);
  }

  /** Changes the password. */
  async changePassword(o: { currentPassword: string; newPassword: string }): Promise<void> {
    return auth.changePassword(this.#core, o);
  }

  /** Logs out here and on the relay; wipes keys from memory. */
  async logout(): Promise<void> {
    await auth.logout(this.#core);
    this.#reset();
  }

  /** The logged-in account and its storage usage. */
  async whoami(): Promise<AccountInfo & { usage: { usedBytes: number; quotaBytes: number } }> {
    const info = auth.accountInfo(this.#core.session);
    const me = await this.#core.api.me();
    return { ...info, usage: me.usage };
  }

  // --- contacts -------------------------------------------------------------------------------

  /** Another account's verified, pinned key bundle (`KEY_CHANGED`, `KEY_UNVERIFIED`). */
  async lookupAccount(who: string, o: { safetyCode?: string } = {}): Promise<Contact> {
    return toContact(await this.#contacts.get(who, o.safetyCode));
  }

  /** Re-pins an account whose keys changed, after an out-of-band check of the new code. */
  async acceptChangedKey(who: string, verifiedSafetyCode: string): Promise<Contact> {
    return toContact(await this.#contacts.acceptChange(who, verifiedSafetyCode));
  }

  // --- folders --------------------------------------------------------------------------------

  /** Creates a patient folder; the profile is encrypted. */
  async createFolder(profile: PatientProfile): Promise<FolderDetails> {
    return this.#folders.create(profile);
  }

  /** My folders, verified, profiles decrypted. */
  async listFolders(): Promise<FolderSummary[]> {
    return this.#folders.list();
  }

  /** One folder, with members from its signed manifest. */
  async getFolder(folderId: string): Promise<FolderDetails> {
    return this.#folders.get(folder(folderId));
  }

  /** Replaces the patient profile (compare-and-swap: `ApiError CONFLICT`). */
  async updateProfile(
    folderId: string,
    profile: PatientProfile,
    o: { expectedVersion?: number } = {},
  ): Promise<FolderDetails> {
    return this.#folders.updateProfile(folder(folderId), profile, o.expectedVersion);
  }

  /**
   * Deletes a folder (owner); resolves with the relay's signed receipt, verified
   * (`client.deletion.deleteFolder`).
   */
  async deleteFolder(folderId: string): Promise<DeletionResult> {
    return this.deletion.deleteFolder(folderId);
  }

  // --- records --------------------------------------------------------------------------------

  /** Adds a record (version 1). */
  async addRecord(folderId: string, input: RecordInput): Promise<RecordSummary> {
    const state = await this.#loader.load(folder(folderId));
    const view = await this.#writer.write(state, newId<RecordId>(), 1, new Uint8Array(32), input);
    await this.#afterWrite(state.folderId);
    return summaryOf(view);
  }

  /**
   * Writes version `expectedVersion + 1` of a record. If someone else wrote it first:
   * `ApiError` with code `CONFLICT` (nothing is overwritten).
   */
  async editRecord(
    folderId: string,
    recordId: string,
    input: RecordInput,
    o: { expectedVersion: number },
  ): Promise<RecordSummary> {
    const id = record(recordId);
    const state = await this.#loader.load(folder(folderId));
    const { chain } = await this.#reader.history(state, id);
    const latest = chain.at(-1)!;
    if (latest.fields.version !== o.expectedVersion) {
      throw new ApiError(
        409,
        'CONFLICT',
        `expected version ${o.expectedVersion}, current is ${latest.fields.version}`,
      );
    }
    const view = await this.#writer.write(state, id, o.expectedVersion + 1, latest.hash, input);
    await this.#afterWrite(state.folderId);
    return summaryOf(view);
  }

  /** The latest version of every record, verified and decrypted. */
  async listRecords(folderId: string): Promise<RecordSummary[]> {
    const state = await this.#loader.load(folder(folderId));
    const list = await this.#reader.verifiedList(state);
    return this.#reader.summaries(state, list);
  }

  /**
   * The latest version of every record with its content (text, structured entry), verified
   * and decrypted, in `listRecords` order: one listing instead of a `readRecord` per record
   * (what an export reads).
   */
  async listRecordViews(folderId: string): Promise<RecordView[]> {
    const state = await this.#loader.load(folder(folderId));
    const list = await this.#reader.verifiedList(state);
    return this.#reader.views(state, list);
  }

  /** One version of a record (default the latest), verified and decrypted. */
  async readRecord(
    folderId: string,
    recordId: string,
    o: { version?: number } = {},
  ): Promise<RecordView> {
    const id = record(recordId);
    const state = await this.#loader.load(folder(folderId));
    const { view } = await this.#reader.read(state, id, o.version);
    // A signed "viewed" event; never fails the read (kept and resent: see audit.ts).
    await this.audit.recordViewed({
      folderId: state.folderId,
      recordId: id,
      version: view.version,
    });
    return view;
  }

  /** Every version of a record, oldest first. */
  async recordHistory(folderId: string, recordId: string): Promise<RecordView[]> {
    const id = record(recordId);
    const state = await this.#loader.load(folder(folderId));
    return this.#reader.readAll(state, id);
  }

  /**
   * A document's content as a stream, decrypted while it downloads. Use the content only once
   * the stream has ended without error.
   */
  async openDocument(
    folderId: string,
    recordId: string,
    o: { version?: number } = {},
  ): Promise<{ record: RecordView; body: ReadableStream<Uint8Array> }> {
    const id = record(recordId);
    const state = await this.#loader.load(folder(folderId));
    const opened = await this.#reader.read(state, id, o.version);
    const body = await this.#reader.body(state, opened);
    await this.audit.recordViewed({
      folderId: state.folderId,
      recordId: id,
      version: opened.view.version,
    });
    return { record: opened.view, body };
  }

  // --- invites and sharing --------------------------------------------------------------------

  /** Invites a patient into a folder I own; give them `link`. */
  async invitePatient(folderId: string, o: { expiresInMs?: number } = {}): Promise<CreatedInvite> {
    return this.#invites.create(folder(folderId), o.expiresInMs);
  }

  /** Accepts an invite link as the logged-in account (pending until the owner processes it). */
  async acceptInvite(link: string): Promise<{ folderId: FolderId; inviterId: AccountId }> {
    return this.#invites.accept(link);
  }

  /** Turns accepted invites into members (owner). */
  async processInvites(folderId?: string): Promise<AdmittedPatient[]> {
    return this.#invites.process(folderId === undefined ? undefined : folder(folderId));
  }

  /** Shares a folder with a colleague whose safety code was compared out of band. */
  async shareFolder(
    folderId: string,
    o: { userName: string; safetyCode: string },
  ): Promise<FolderDetails> {
    if (typeof o.safetyCode !== 'string')
      throw invalidArgument('safetyCode', 'the colleague’s safety code');
    return this.#folders.share(folder(folderId), o.userName, o.safetyCode);
  }

  /** Removes a member: new epoch, they read nothing written afterwards. */
  async removeMember(folderId: string, accountId: string): Promise<FolderDetails> {
    return this.#folders.remove(folder(folderId), parseId<AccountId>(accountId, 'accountId'));
  }

  /**
   * After the owner writes, the manifest is re-signed so that its record-list digest covers
   * the new version: a relay that later drops it is caught by every client, not only this one.
   */
  async #afterWrite(folderId: FolderId): Promise<void> {
    const state = await this.#loader.load(folderId);
    if (state.ownerId !== this.#core.session.accountId) return;
    try {
      await this.#folders.refreshDigest(state);
    } catch (e) {
      // A member deleted their account: the relay refuses a manifest that still names them.
      // Remove them (a new epoch, whose manifest covers the new version) instead of failing.
      if (!isApiError(e, 'VALIDATION') || !e.message.includes('unknown account')) throw e;
      if ((await this.deletion.pruneDeletedMembers(folderId)).length === 0) throw e;
    }
  }

  #reset(): void {
    this.#contacts.clear();
    this.#loader.clear();
  }
}

function folder(id: string): FolderId {
  return parseId<FolderId>(id, 'folderId');
}

function record(id: string): RecordId {
  return parseId<RecordId>(id, 'recordId');
}
