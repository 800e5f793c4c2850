/**
 * Account commands: signup, login, logout, whoami, fingerprint, recover.
 */
import type { AccountInfo, Contact } from '../sdk';
import { optional, required, type Command, type Invocation } from '../command';
import { requireUser } from '../config';
import { usage } from '../errors';
import { bytes } from '../format';
import { isObject, readJsonFile, writeJsonFile } from '../local-files';
import { readSecret } from '../prompt';
import { bind, password, signedIn, target, type Bound } from '../session';
import { choice, label, ROLES, safetyCode, userName } from '../validate';

/** The CLI's own per-account file: what the SDK does not keep (the display name). */
const CLI_FILE = 'cli.json';

function isCliFile(v: unknown): v is { displayName?: string } {
  return isObject(v) && (v.displayName === undefined || typeof v.displayName === 'string');
}

async function readDisplayName(b: Bound): Promise<string | undefined> {
  return (await readJsonFile(b.dir, CLI_FILE, {}, isCliFile)).displayName;
}

const SAFETY_HINT =
  'Others compare it with what `carnet fingerprint <you>` shows them, over another channel.';

function accountLines(a: AccountInfo, server: string, displayName?: string): string[] {
  return [
    `${a.userName} (${a.role})${displayName ? ` — ${displayName}` : ''} on ${server}`,
    `Account id:   ${a.accountId}`,
    `Safety code:  ${a.safetyCode}`,
  ];
}

function recoveryBlock(code: string): string[] {
  return [
    '',
    'RECOVERY CODE — shown only this once. Write it down and keep it offline: it is the only',
    'way back into this account if you forget your password. Nobody, not even the relay, can',
    'recover it for you.',
    '',
    `    ${code}`,
    '',
  ];
}

const RECOVERY_WARNING =
  'Store the recovery code offline now: it is shown only once and is the only way back in.';

const signup: Command = {
  name: 'signup',
  summary: 'Create an account; prints the recovery code (once) and your safety code.',
  synopsis: '--role practitioner|patient|support [--name "Display name"]',
  details: [
    'The password comes from CARNET_PASSWORD, or is asked twice on the terminal.',
    'The display name is kept on this device only (the relay never sees it).',
    '',
    'Example:',
    '  CARNET_USER=dr.martin carnet signup --role practitioner --name "Dr Claire Martin"',
  ].join('\n'),
  options: { role: { type: 'string' }, name: { type: 'string' } },
  async run(inv) {
    const role = choice('role', required(inv, 'role', 'practitioner|patient|support'), ROLES);
    const displayName = optional(inv, 'name');
    const name = displayName === undefined ? undefined : label('name', displayName, 200);
    const t = target(inv);
    const user = requireUser(t);
    const b = await bind(t, user);
    const pw = await password(inv, user, true);
    const { account, recoveryCode } = await b.client.signUp({ userName: user, password: pw, role });
    if (name !== undefined) await writeJsonFile(b.dir, CLI_FILE, { displayName: name });
    return {
      json: {
        account: { ...account, displayName: name ?? null },
        recoveryCode,
        warning: RECOVERY_WARNING,
      },
      text: [
        `Account created and logged in.`,
        ...accountLines(account, t.server, name),
        ...recoveryBlock(recoveryCode),
        SAFETY_HINT,
      ].join('\n'),
    };
  },
};

const login: Command = {
  name: 'login',
  summary: 'Log in and save the session on this device (other commands do it when needed).',
  synopsis: '',
  options: {},
  async run(inv) {
    const t = target(inv);
    const user = requireUser(t);
    const b = await bind(t, user);
    const account = await b.client.login({ userName: user, password: await password(inv, user) });
    return {
      json: { account },
      text: `Logged in as ${account.userName} (${account.role}) on ${t.server}.`,
    };
  },
};

const logout: Command = {
  name: 'logout',
  summary: 'Log out: end the saved session and forget it on this device.',
  synopsis: '',
  options: {},
  async run(inv) {
    const t = target(inv);
    const user = requireUser(t);
    const b = await bind(t, user);
    // Pins and high-water marks stay in the store: they protect the next login.
    await b.client.logout();
    return {
      json: { loggedOut: user },
      text: `Logged out ${user} from ${t.server}: the saved session was removed from this device.`,
    };
  },
};

const whoami: Command = {
  name: 'whoami',
  summary: 'Show your account, safety code and storage use.',
  synopsis: '',
  options: {},
  async run(inv) {
    const b = await signedIn(inv);
    const me = await b.client.whoami();
    const displayName = await readDisplayName(b);
    const { usage, ...account } = me;
    return {
      json: { account: { ...account, displayName: displayName ?? null }, usage },
      text: [
        ...accountLines(account, b.target.server, displayName),
        `Storage:      ${bytes(usage.usedBytes)} of ${bytes(usage.quotaBytes)}`,
        SAFETY_HINT,
      ].join('\n'),
    };
  },
};

/** What the pin status means for the user; `checked`: they gave the code to compare. */
function pinText(c: Contact, checked: boolean): string {
  if (c.pin === 'verified') return 'Verified: matches the code you gave, and pinned.';
  if (c.pin === 'unchanged') {
    return checked
      ? 'Matches the code you gave; unchanged since it was pinned.'
      : 'Unchanged since it was pinned.';
  }
  return (
    `First time seen: pinned now. Compare this code with ${c.userName} over another ` +
    'channel (phone, in person); any later change will be refused.'
  );
}

const fingerprint: Command = {
  name: 'fingerprint',
  summary: "Fetch, verify and show someone's safety code; pins it on first use.",
  synopsis: 'USER [--expect CODE | --accept CODE]',
  details: [
    'Options:',
    '  --expect CODE  the code they read to you: refuse unless it matches (then pinned as verified)',
    '  --accept CODE  after a key change (KEY_CHANGED): re-pin to the new keys, once you have',
    '                 compared the new code with them over another channel',
    '',
    'Example:',
    '  carnet fingerprint dr.bernard --expect "01234 56789 01234 56789 01234 56789"',
  ].join('\n'),
  options: { expect: { type: 'string' }, accept: { type: 'string' } },
  positionals: ['USER'],
  async run(inv) {
    const subject = userName(inv.positionals[0] ?? '', 'USER');
    inv.context.subject = subject;
    const expect = optional(inv, 'expect');
    const accept = optional(inv, 'accept');
    if (expect !== undefined && accept !== undefined) {
      throw usage('Give --expect or --accept, not both.');
    }
    const expected = expect === undefined ? undefined : safetyCode(expect, '--expect');
    const accepted = accept === undefined ? undefined : safetyCode(accept, '--accept');
    const b = await signedIn(inv);
    const contact =
      accepted !== undefined
        ? await b.client.acceptChangedKey(subject, accepted)
        : await b.client.lookupAccount(
            subject,
            expected === undefined ? {} : { safetyCode: expected },
          );
    return {
      json: { contact },
      text: [
        `${contact.userName} (${contact.role})`,
        `Safety code:  ${contact.safetyCode}`,
        pinText(contact, expected !== undefined || accepted !== undefined),
      ].join('\n'),
    };
  },
};

async function recoveryCode(inv: Invocation): Promise<string> {
  return readSecret(inv.io, {
    envVar: 'CARNET_RECOVERY_CODE',
    prompt: 'Recovery code: ',
    what: 'recovery code',
  });
}

const recover: Command = {
  name: 'recover',
  summary: 'Set a new password with your recovery code; prints a new recovery code (once).',
  synopsis: '',
  details: [
    'The recovery code comes from CARNET_RECOVERY_CODE or is asked; the new password from',
    'CARNET_PASSWORD or asked twice. The old recovery code stops working.',
  ].join('\n'),
  options: {},
  async run(inv) {
    const t = target(inv);
    const user = requireUser(t);
    const b = await bind(t, user);
    const code = await recoveryCode(inv);
    const newPassword = await password(inv, user, true);
    const { account, recoveryCode: fresh } = await b.client.recover({
      userName: user,
      recoveryCode: code,
      newPassword,
    });
    return {
      json: { account, recoveryCode: fresh, warning: RECOVERY_WARNING },
      text: [
        `New password set for ${account.userName}; other sessions were logged out.`,
        'Your previous recovery code no longer works. Here is the new one.',
        ...recoveryBlock(fresh),
      ].join('\n'),
    };
  },
};

/** The account command group. */
export const accountCommands: readonly Command[] = [
  signup,
  login,
  logout,
  whoami,
  fingerprint,
  recover,
];
