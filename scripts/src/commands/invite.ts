/**
 * Patient invitations: the practitioner creates a single-use link whose secret lives only in
 * the URL fragment; the patient accepts it; the practitioner's client then verifies the
 * patient's answer and adds them to the signed member list (`invite sync`, also done by
 * `patient list`).
 */
import { text as readAll } from 'node:stream/consumers';
import { optional, type Command } from '../command';
import { invalidInput, usage } from '../errors';
import { when } from '../format';
import { userNames } from '../names';
import { notePending } from '../pending-invites';
import { signedIn } from '../session';
import { folderId } from '../validate';

const DAY_MS = 24 * 60 * 60 * 1000;

function expiryDays(value: string | undefined): number {
  if (value === undefined) return 7;
  if (!/^\d{1,2}$/.test(value) || Number(value) < 1 || Number(value) > 30) {
    throw invalidInput(`--expires-in must be a number of days from 1 to 30 (got "${value}").`);
  }
  return Number(value);
}

const create: Command = {
  name: 'invite create',
  summary: 'Create a single-use invitation link for the patient of a folder.',
  synopsis: '--folder ID [--expires-in DAYS]',
  details:
    'DAYS: 1 to 30, default 7. The secret is only in the link, after "#": give it privately.',
  options: { folder: { type: 'string' }, 'expires-in': { type: 'string' } },
  async run(inv) {
    const f = optional(inv, 'folder');
    if (f === undefined) throw usage('Missing --folder ID (see `carnet patient list`).');
    const folder = folderId(f);
    inv.context.folder = folder;
    const days = expiryDays(optional(inv, 'expires-in'));
    const s = await signedIn(inv);
    const invite = await s.client.invitePatient(folder, { expiresInMs: days * DAY_MS });
    await notePending(s.dir, {
      folderId: folder,
      inviteId: invite.inviteId,
      expiresAt: invite.expiresAt,
    });
    return {
      json: { invite: { ...invite, folderId: folder } },
      text: [
        `Invitation for folder ${folder}, single use, valid until ${when(invite.expiresAt)} UTC:`,
        '',
        `    ${invite.link}`,
        '',
        'Give it to the patient privately (in person, QR code, secure message): whoever uses it',
        "first joins the folder. The part after '#' never reaches the relay.",
        'Once they have accepted it, run `carnet invite sync` (or `carnet patient list`) to give',
        'them access.',
      ].join('\n'),
    };
  },
};

/** An invitation link: a URL with a fragment. `-` reads it from stdin (keeps it out of `ps`). */
async function link(inv: Parameters<Command['run']>[0]): Promise<string> {
  const arg = inv.positionals[0] ?? '';
  const raw = arg === '-' ? (await readAll(inv.io.stdin)).trim() : arg;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidInput(
      'LINK must be the whole invitation link, e.g. http://127.0.0.1:8080/invite#…',
    );
  }
  if (url.hash.length < 2) {
    throw invalidInput(
      "LINK has no secret after '#': copy the whole link, including what follows '#'.",
    );
  }
  return raw;
}

const accept: Command = {
  name: 'invite accept',
  summary: 'Accept an invitation (as the patient, after signing up).',
  synopsis: 'LINK | -',
  details: "Give the link in quotes (it contains '#'), or '-' to read it from stdin.",
  options: {},
  positionals: ['LINK'],
  async run(inv) {
    const l = await link(inv);
    const s = await signedIn(inv);
    const { folderId: folder, inviterId } = await s.client.acceptInvite(l);
    inv.context.folder = folder;
    const inviter = await s.client.lookupAccount(inviterId);
    return {
      json: {
        accepted: {
          folderId: folder,
          inviterId,
          inviterName: inviter.userName,
          inviterSafetyCode: inviter.safetyCode,
        },
      },
      text: [
        `Invitation accepted: folder ${folder}, from ${inviter.userName}.`,
        `Their safety code: ${inviter.safetyCode} (compare it with them).`,
        `You can read it once ${inviter.userName}'s carnet confirms you (\`carnet patient list\` shows it).`,
      ].join('\n'),
    };
  },
};

const sync: Command = {
  name: 'invite sync',
  summary: 'Give access to patients who accepted your invitations (all your folders).',
  synopsis: '[--folder ID]',
  options: { folder: { type: 'string' } },
  async run(inv) {
    const f = optional(inv, 'folder');
    const folder = f === undefined ? undefined : folderId(f);
    inv.context.folder = folder;
    const s = await signedIn(inv);
    const confirmed = await s.client.processInvites(folder);
    const names = await userNames(
      s.client,
      confirmed.map((c) => c.accountId),
    );
    const lines = confirmed.map(
      (c) =>
        `${names.get(c.accountId) ?? c.accountId} can now read folder ${c.folderId} ` +
        `(their safety code: ${c.safetyCode}).`,
    );
    return {
      json: {
        confirmed: confirmed.map((c) => ({ ...c, userName: names.get(c.accountId) ?? null })),
      },
      text: lines.length > 0 ? lines.join('\n') : 'No accepted invitations waiting.',
    };
  },
};

/** The invite command group. */
export const inviteCommands: readonly Command[] = [create, accept, sync];
