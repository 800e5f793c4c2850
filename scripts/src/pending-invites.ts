/**
 * Invitations this device created and that may not be confirmed yet. `patient list` confirms
 * accepted invitations only in these folders, so that listing a large practice does not cost
 * one invite query per folder; `invite sync` without --folder still looks everywhere.
 */
import type { AdmittedPatient, CarnetClient } from './sdk';
import { readJsonFile, writeJsonFile } from './local-files';

const FILE = 'pending-invites.json';

/** An invitation created here. */
export interface PendingInvite {
  folderId: string;
  inviteId: string;
  expiresAt: number;
}

function isPendingList(v: unknown): v is PendingInvite[] {
  return (
    Array.isArray(v) &&
    v.every(
      (p: Partial<PendingInvite>) =>
        typeof p.folderId === 'string' &&
        typeof p.inviteId === 'string' &&
        typeof p.expiresAt === 'number',
    )
  );
}

/** Notes an invitation just created. */
export async function notePending(dir: string, invite: PendingInvite): Promise<void> {
  const list = await readJsonFile(dir, FILE, [], isPendingList);
  list.push(invite);
  await writeJsonFile(dir, FILE, list);
}

/**
 * Confirms accepted invitations in the folders where this device has open ones, then forgets
 * the expired ones and, per folder, as many as were confirmed (oldest first).
 */
export async function confirmPending(
  client: CarnetClient,
  dir: string,
  now: number,
): Promise<AdmittedPatient[]> {
  const list = (await readJsonFile(dir, FILE, [], isPendingList)).filter((p) => p.expiresAt > now);
  const admitted: AdmittedPatient[] = [];
  let remaining = list;
  for (const folderId of new Set(list.map((p) => p.folderId))) {
    const done = await client.processInvites(folderId);
    admitted.push(...done);
    let drop = done.length;
    remaining = remaining.filter((p) => !(p.folderId === folderId && drop-- > 0));
  }
  await writeJsonFile(dir, FILE, remaining);
  return admitted;
}
