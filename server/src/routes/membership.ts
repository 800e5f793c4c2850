/**
 * Rules for member lists and member wraps, for folder creation and manifest updates. The
 * relay cannot read the signed manifest; these rules keep its own access-control list sane
 * (one owner, known accounts, a key for everyone who needs one, a rotation on removal).
 */
import { z } from 'zod';
import { invalid } from '../http/errors';
import { bytes, id, LIMITS, positiveInt } from '../http/schemas';
import type { Relay } from '../relay';
import type { MemberInput, MemberRow, WrapInput } from '../store/folders';

/** A member entry in a request. */
export const memberSchema = z.strictObject({
  accountId: id,
  role: z.enum(['owner', 'editor', 'reader']),
});

/** A wrap entry in a request. */
export const wrapSchema = z.strictObject({
  accountId: id,
  epoch: positiveInt,
  wrap: bytes(LIMITS.wrap),
});

/** Member list of a request. */
export const membersSchema = z.array(memberSchema).min(1).max(LIMITS.members);
/** Wrap list of a request. */
export const wrapsSchema = z.array(wrapSchema).max(LIMITS.members * 4);

/** One owner (`ownerId`), no duplicates, only existing accounts. */
export function checkMembers(relay: Relay, ownerId: string, members: MemberInput[]): void {
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.accountId)) throw invalid(`members: ${m.accountId} listed twice`);
    seen.add(m.accountId);
    if ((m.role === 'owner') !== (m.accountId === ownerId)) {
      throw invalid('members: the folder owner, and only they, must have the role owner');
    }
  }
  if (!seen.has(ownerId)) throw invalid('members: the owner must be listed');
  for (const a of seen) {
    if (!relay.folders.accountExists(a)) throw invalid(`members: unknown account ${a}`);
  }
}

/** Wraps only for listed members, at epochs 1..`maxEpoch`, one per (account, epoch). */
export function checkWraps(members: MemberInput[], wraps: WrapInput[], maxEpoch: number): void {
  const listed = new Set(members.map((m) => m.accountId));
  const seen = new Set<string>();
  for (const w of wraps) {
    if (!listed.has(w.accountId)) throw invalid(`wraps: ${w.accountId} is not a member`);
    if (w.epoch > maxEpoch) throw invalid(`wraps: epoch ${w.epoch} is in the future`);
    const key = `${w.accountId}/${w.epoch}`;
    if (seen.has(key)) throw invalid(`wraps: two wraps for ${key}`);
    seen.add(key);
  }
}

/** Every account in `who` has a wrap at `epoch`, in the request or (if given) already stored. */
export function requireWraps(
  who: Iterable<string>,
  wraps: WrapInput[],
  epoch: number,
  stored: (accountId: string) => boolean = () => false,
): void {
  const have = new Set(wraps.filter((w) => w.epoch === epoch).map((w) => w.accountId));
  for (const a of who) {
    if (!have.has(a) && !stored(a)) throw invalid(`wraps: ${a} needs a wrap at epoch ${epoch}`);
  }
}

/** How a new member list differs from the stored one. */
export interface MemberDiff {
  /** Full members absent from the new list: they lose access now. */
  removed: string[];
  /** Accounts in the new list that were not full members (new, or pending invitees). */
  added: string[];
  /** Pending invitees named by the new list. */
  promoted: string[];
}

/** Compares the stored rows (pending included) with the new list. */
export function diffMembers(current: MemberRow[], next: MemberInput[]): MemberDiff {
  const nextIds = new Set(next.map((m) => m.accountId));
  const full = new Set(current.filter((m) => m.role !== 'pending').map((m) => m.account_id));
  const pending = new Set(current.filter((m) => m.role === 'pending').map((m) => m.account_id));
  return {
    removed: [...full].filter((a) => !nextIds.has(a)),
    added: [...nextIds].filter((a) => !full.has(a)),
    promoted: [...nextIds].filter((a) => pending.has(a)),
  };
}
