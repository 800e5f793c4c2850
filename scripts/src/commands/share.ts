/**
 * Sharing a folder with a colleague, who is added by verified safety code, and removing them
 * (a new folder key: they read nothing written afterwards). Here `--user` names the
 * colleague; the acting account comes from `--as` or `CARNET_USER`.
 */
import { required, type Command, type Invocation } from '../command';
import { invalidInput } from '../errors';
import { signedIn } from '../session';
import { folderId, safetyCode, userName } from '../validate';

function folderAndColleague(inv: Invocation): { folder: string; colleague: string } {
  const folder = folderId(required(inv, 'folder', 'ID'));
  const colleague = userName(required(inv, 'user', 'NAME'));
  inv.context.folder = folder;
  inv.context.subject = colleague;
  return { folder, colleague };
}

const add: Command = {
  name: 'share add',
  summary: 'Share a folder with a colleague, checked against their safety code.',
  synopsis: '--folder ID --user NAME --fingerprint CODE',
  details: [
    'CODE is the safety code the colleague reads to you from `carnet whoami`, compared over',
    'another channel (phone, in person). A mismatch is refused and nothing is shared.',
    '',
    'Example:',
    '  CARNET_USER=dr.martin carnet share add --folder ID --user dr.bernard \\',
    '      --fingerprint "01234 56789 01234 56789 01234 56789"',
  ].join('\n'),
  options: {
    folder: { type: 'string' },
    user: { type: 'string' },
    fingerprint: { type: 'string' },
  },
  async run(inv) {
    const { folder, colleague } = folderAndColleague(inv);
    const code = safetyCode(required(inv, 'fingerprint', 'CODE'));
    const s = await signedIn(inv, true);
    const details = await s.client.shareFolder(folder, { userName: colleague, safetyCode: code });
    return {
      json: { folder: details, added: { userName: colleague, safetyCode: code } },
      text: `${colleague} can now read and write folder ${folder} (safety code verified).`,
    };
  },
};

const remove: Command = {
  name: 'share remove',
  summary: 'Remove a colleague from a folder; the folder key is replaced.',
  synopsis: '--folder ID --user NAME',
  details: 'They keep what they may have copied, but read nothing written afterwards.',
  options: { folder: { type: 'string' }, user: { type: 'string' } },
  async run(inv) {
    const { folder, colleague } = folderAndColleague(inv);
    const s = await signedIn(inv, true);
    const contact = await s.client.lookupAccount(colleague);
    const current = await s.client.getFolder(folder);
    if (contact.accountId === current.ownerId) {
      throw invalidInput(`${colleague} owns folder ${folder} and cannot be removed from it.`);
    }
    if (!current.members.some((m) => m.accountId === contact.accountId)) {
      throw invalidInput(`${colleague} is not a member of folder ${folder}: nothing to remove.`);
    }
    const details = await s.client.removeMember(folder, contact.accountId);
    return {
      json: { folder: details, removed: { userName: colleague, accountId: contact.accountId } },
      text: `${colleague} was removed from folder ${folder}; new key epoch ${details.epoch ?? '?'}.`,
    };
  },
};

/** The share command group. */
export const shareCommands: readonly Command[] = [add, remove];
