/**
 * Patient invites. The secret lives only in the link's fragment; the relay sees a lookup id
 * derived from it, the folder key sealed under it, and the patient's MACed answer. The owner's
 * client keeps the secret (sealed under its account key) until it has checked the answer.
 */
import { fromBase64url, toBase64url } from '../bytes';
import { openEnvelope, sealEnvelope } from '../envelope';
import { CarnetError, invalidArgument, isCarnetError } from '../errors';
import { verifyKeyBundle } from '../account';
import type { AccountId, FolderId } from '../ids';
import {
  decodeInviteSecret,
  encodeInviteSecret,
  inviteLookupId,
  macInviteResponse,
  newInviteSecret,
  openFolderKeyFromInvite,
  sealFolderKeyToInvite,
  verifyInviteResponse,
} from '../invite';
import { asKey, type FolderKey, type InviteSecret } from '../keys';
import type { ManifestMember } from '../manifest';
import { pinKeyBundle } from '../pinning';
import { KIND } from '../registry';
import type { Contacts } from './contacts';
import type { Core } from './core';
import type { FolderLoader } from './folder-state';
import type { Folders } from './folders';
import { assertOwner } from './publish';
import type { AdmittedPatient, CreatedInvite } from './types';

/** Default lifetime of an invite: 7 days. */
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Longest lifetime the relay accepts: 30 days. */
export const MAX_INVITE_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * Epochs tried when the relay does not say which one an invite's key belongs to. Each try is
 * one HKDF and a commitment comparison, so even the worst case costs milliseconds.
 */
export const MAX_INVITE_EPOCH_SEARCH = 1024;

/** Context label of an invite secret sealed in the local store. */
const LOCAL_SECRET_LABEL = 'carnet/v1/client/invite-secret';

/** Invite operations. */
export class Invites {
  constructor(
    private readonly core: Core,
    private readonly loader: FolderLoader,
    private readonly contacts: Contacts,
    private readonly folders: Folders,
  ) {}

  /** Creates an invite to a folder I own; the link carries the secret in its fragment. */
  async create(folderId: FolderId, expiresInMs = DEFAULT_INVITE_TTL_MS): Promise<CreatedInvite> {
    if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0 || expiresInMs > MAX_INVITE_TTL_MS) {
      throw invalidArgument('expiresInMs', 'a duration of at most 30 days');
    }
    const state = await this.loader.load(folderId);
    assertOwner(this.core, state);
    const secret = newInviteSecret();
    const fk = await this.loader.currentKey(state);
    const sealedKey = sealFolderKeyToInvite(secret, fk, { folderId, epoch: state.manifest.epoch });
    const { inviteId, expiresAt } = await this.core.api.createInvite(folderId, {
      lookupId: inviteLookupId(secret),
      sealedKey,
      expiresAt: this.core.now() + expiresInMs,
      role: 'editor',
    });
    await this.saveSecret(folderId, inviteId, secret);
    return {
      link: `${this.core.appUrl}/invite#${encodeInviteSecret(secret)}`,
      inviteId,
      expiresAt,
    };
  }

  /**
   * Accepts an invite as the logged-in account: opens the folder key sealed to the secret
   * (proving the invite is genuine), answers with my key bundle MACed under the secret.
   */
  async accept(link: string): Promise<{ folderId: FolderId; inviterId: AccountId }> {
    const me = this.core.session;
    const secret = secretFromLink(link);
    const lookupId = inviteLookupId(secret);
    const invite = await this.core.api.getInvite(lookupId);
    const { folderId } = invite;
    const { epoch, fk } = findInviteKey(secret, invite.sealedKey, folderId, invite.epoch);
    await this.contacts.get(invite.inviterId);
    const response = macInviteResponse(secret, me.bundle.bytes, { folderId });
    const accepted = await this.core.api.acceptInvite(lookupId, response);
    if (accepted !== folderId) throw new CarnetError('CONTEXT_MISMATCH');
    await this.loader.remember(folderId, epoch, fk);
    return { folderId, inviterId: invite.inviterId };
  }

  /**
   * For each accepted invite of my folders (issued from this device): checks the MAC, the key
   * bundle and its pin, then publishes a manifest naming the patients, with wraps.
   */
  async process(folderId?: FolderId): Promise<AdmittedPatient[]> {
    const me = this.core.session.accountId;
    const ids =
      folderId !== undefined
        ? [folderId]
        : (await this.folders.list())
            .filter((f) => f.ownerId === me && f.status === 'member')
            .map((f) => f.folderId);
    const out: AdmittedPatient[] = [];
    for (const id of ids) out.push(...(await this.processFolder(id)));
    return out;
  }

  private async processFolder(folderId: FolderId): Promise<AdmittedPatient[]> {
    const state = await this.loader.load(folderId);
    assertOwner(this.core, state);
    const newcomers: Parameters<Folders['admit']>[1] = [];
    const done: string[] = [];
    for (const inv of await this.core.api.listInvites(folderId)) {
      if (inv.status !== 'accepted' || inv.response === undefined || inv.inviteeId === undefined)
        continue;
      const secret = await this.loadSecret(folderId, inv.inviteId);
      if (secret === undefined) continue;
      const bundleBytes = verifyInviteResponse(secret, inv.response, { folderId });
      const bundle = await verifyKeyBundle(bundleBytes, inv.inviteeId);
      // The MAC under the secret authenticates the bundle as the one the patient sent.
      const { safetyCode } = await pinKeyBundle(this.core.pins, bundle);
      done.push(inv.inviteId);
      if (state.manifest.members.some((m) => m.accountId === bundle.accountId)) continue;
      if (newcomers.some((n) => n.member.accountId === bundle.accountId)) continue;
      const member: ManifestMember = {
        accountId: bundle.accountId,
        fingerprint: safetyCode,
        role: 'patient',
      };
      newcomers.push({ member, key: bundle.encryptionPublicKey });
    }
    if (newcomers.length > 0) await this.folders.admit(state, newcomers);
    for (const inviteId of done) await this.core.store.delete(this.secretKey(folderId, inviteId));
    return newcomers.map((n) => ({
      folderId,
      accountId: n.member.accountId,
      safetyCode: n.member.fingerprint,
    }));
  }

  private secretKey(folderId: FolderId, inviteId: string): string {
    return this.core.key(`invite/${folderId}/${inviteId}`);
  }

  private async saveSecret(
    folderId: FolderId,
    inviteId: string,
    secret: InviteSecret,
  ): Promise<void> {
    const s = this.core.session;
    const sealed = sealEnvelope(KIND.INVITE_FOLDER_KEY, s.secrets.accountKey, secret, {
      folderId,
      accountId: s.accountId,
      label: LOCAL_SECRET_LABEL,
    });
    await this.core.store.set(this.secretKey(folderId, inviteId), toBase64url(sealed));
  }

  private async loadSecret(
    folderId: FolderId,
    inviteId: string,
  ): Promise<InviteSecret | undefined> {
    const raw = await this.core.store.get(this.secretKey(folderId, inviteId));
    if (raw === undefined) return undefined;
    const s = this.core.session;
    const secret = openEnvelope(KIND.INVITE_FOLDER_KEY, s.secrets.accountKey, fromBase64url(raw), {
      folderId,
      accountId: s.accountId,
      label: LOCAL_SECRET_LABEL,
    });
    return asKey<InviteSecret>(secret);
  }
}

/** The secret in an invite link's fragment (or a bare secret). */
export function secretFromLink(link: string): InviteSecret {
  const hash = link.lastIndexOf('#');
  return decodeInviteSecret(hash === -1 ? link.trim() : link.slice(hash + 1).trim());
}

/** Opens an invite's folder key, at the epoch the relay gave or by trying epochs from 1. */
function findInviteKey(
  secret: InviteSecret,
  sealed: Uint8Array,
  folderId: FolderId,
  hint: number | undefined,
): { epoch: number; fk: FolderKey } {
  const candidates =
    hint !== undefined ? [hint] : Array.from({ length: MAX_INVITE_EPOCH_SEARCH }, (_, i) => i + 1);
  for (const epoch of candidates) {
    try {
      return { epoch, fk: openFolderKeyFromInvite(secret, sealed, { folderId, epoch }) };
    } catch (e) {
      if (!isCarnetError(e, 'INTEGRITY')) throw e;
    }
  }
  throw new CarnetError('INTEGRITY');
}
