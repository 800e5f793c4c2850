/**
 * Folder access control shared by the folder, record, blob and invite routes. Everything a
 * caller may not see or touch is a 404, so that a refusal never confirms that an id exists.
 */
import { notFound } from '../http/errors';
import type { Relay } from '../relay';

/** Folder roles of full members. */
export type MemberRole = 'owner' | 'editor' | 'reader';

/** Roles allowed to write records and the profile. */
export const WRITERS: readonly MemberRole[] = ['owner', 'editor'];
/** Roles allowed to read the folder's contents. */
export const READERS: readonly MemberRole[] = ['owner', 'editor', 'reader'];
/** The owner alone (manifest, invites, deletion). */
export const OWNER: readonly MemberRole[] = ['owner'];

/**
 * The caller's role in `folderId` if it is one of `allowed`; otherwise `404` (not a member,
 * pending, or a role too weak — indistinguishable from a folder that does not exist).
 */
export function requireRole(
  relay: Relay,
  folderId: string,
  accountId: string,
  allowed: readonly MemberRole[],
): MemberRole {
  const role = relay.folders.role(folderId, accountId);
  if (role === undefined || !(allowed as readonly string[]).includes(role)) {
    throw notFound('no such folder');
  }
  return role as MemberRole;
}
