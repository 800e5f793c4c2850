/**
 * Patient folders: `patient add` creates one (a practitioner's dossier for one patient),
 * `patient list` shows every folder the account belongs to — for a patient, what is shared
 * with them — after finalizing accepted invites.
 */
import type { FolderSummary, PatientProfile } from '../sdk';
import { optional, required, type Command } from '../command';
import { safe, table } from '../format';
import { userNames } from '../names';
import { confirmPending } from '../pending-invites';
import { signedIn } from '../session';
import { birthDate, choice, label, SEXES } from '../validate';

const add: Command = {
  name: 'patient add',
  summary: 'Create a folder for a patient (name and profile encrypted on this device).',
  synopsis: '--name NAME [--birth-date YYYY-MM-DD] [--sex female|male|other|unknown]',
  details: [
    'Example:',
    '  carnet patient add --name "Jeanne Dupont" --birth-date 1950-03-14 --sex female',
  ].join('\n'),
  options: { name: { type: 'string' }, 'birth-date': { type: 'string' }, sex: { type: 'string' } },
  async run(inv) {
    const profile: PatientProfile = { name: label('name', required(inv, 'name', 'NAME'), 200) };
    const born = optional(inv, 'birth-date');
    if (born !== undefined) profile.birthDate = birthDate(born);
    const sex = optional(inv, 'sex');
    if (sex !== undefined) profile.sex = choice('sex', sex, SEXES);
    const b = await signedIn(inv);
    const folder = await b.client.createFolder(profile);
    inv.context.folder = folder.folderId;
    return {
      json: { folder },
      text: [
        `Folder ${folder.folderId} created for ${safe(profile.name)}.`,
        `Add records with: carnet record add --folder ${folder.folderId} --title … --text …`,
      ].join('\n'),
    };
  },
};

function row(f: FolderSummary, owner: string): string[] {
  if (f.status === 'pending')
    return [f.folderId, '(invitation not confirmed yet)', '', '', 'pending', owner];
  const p = f.profile;
  return [
    f.folderId,
    safe(p?.name ?? '?'),
    p?.birthDate ?? '',
    p?.sex ?? '',
    f.myRole ?? '',
    owner,
  ];
}

const list: Command = {
  name: 'patient list',
  summary: 'List your folders (for a patient: what is shared with you); confirms accepted invites.',
  synopsis: '',
  options: {},
  async run(inv) {
    const b = await signedIn(inv);
    // Owners admit the patients who accepted their invitations, so that they can read at once.
    const confirmed = await confirmPending(b.client, b.dir, Date.now());
    const folders = await b.client.listFolders();
    const names = await userNames(b.client, [
      ...folders.map((f) => f.ownerId),
      ...confirmed.map((c) => c.accountId),
    ]);
    const me = b.client.account?.accountId;
    const ownerCell = (f: FolderSummary): string =>
      f.ownerId === me ? 'you' : (names.get(f.ownerId) ?? f.ownerId);
    const lines = confirmed.map(
      (c) =>
        `${names.get(c.accountId) ?? c.accountId} accepted the invitation to folder ${c.folderId} and can now read it.`,
    );
    lines.push(
      folders.length === 0
        ? 'No folders yet.'
        : table(
            ['FOLDER', 'PATIENT', 'BORN', 'SEX', 'ROLE', 'OWNER'],
            folders.map((f) => row(f, ownerCell(f))),
          ),
    );
    return {
      json: {
        folders: folders.map((f) => ({ ...f, ownerName: names.get(f.ownerId) ?? null })),
        confirmedInvites: confirmed.map((c) => ({
          ...c,
          userName: names.get(c.accountId) ?? null,
        })),
      },
      text: lines.join('\n'),
    };
  },
};

/** The patient command group. */
export const patientCommands: readonly Command[] = [add, list];
