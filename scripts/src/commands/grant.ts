/**
 * Support grants (docs/grants.md): a practitioner lets a support agent, checked by safety code,
 * read some folders or records (or import, write-only) for at most 24 hours; lists, revokes
 * and watches them. The agent lists their grants here and reads with `record list/get --grant`.
 * Here `--agent` names the support agent; the acting account comes from `--as`, `--user` or
 * `CARNET_USER`.
 */
import { CarnetError } from '@carnet/shared/errors';
import { flag, optional, required, type Command, type Invocation } from '../command';
import { invalidInput, usage } from '../errors';
import { safe, table, when } from '../format';
import { userNames } from '../names';
import type { GrantEvent, GrantInfo } from '../sdk';
import { signedIn } from '../session';
import { choice, folderId, id, label, safetyCode, userName } from '../validate';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MAX_HOURS = 24;

/** `30m`, `2h`, `1h30m`, `24h` → ms; at most 24 hours, at least one minute. */
export function duration(value: string): number {
  const m = /^(?:(\d{1,2})h)?(?:(\d{1,4})m)?$/.exec(value);
  const ms = m && value !== '' ? Number(m[1] ?? 0) * HOUR + Number(m[2] ?? 0) * MINUTE : NaN;
  if (!Number.isFinite(ms) || ms < MINUTE) {
    throw usage(`--for must be a duration such as 30m, 2h or 1h30m (got "${value}").`);
  }
  if (ms > MAX_HOURS * HOUR) {
    throw usage(`--for ${value} is too long: a support grant lasts at most ${MAX_HOURS}h.`);
  }
  return ms;
}

/** A grant id (positional ID or `--grant`). */
export function grantId(value: string, option = 'ID'): string {
  return id(option, value, 'grant', 'see `carnet grant list`');
}

function list(option: string, value: string): string[] {
  const items = value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  if (items.length === 0) throw invalidInput(`--${option} must list at least one id.`);
  if (new Set(items).size !== items.length) throw invalidInput(`--${option} lists an id twice.`);
  return items;
}

function recordPairs(value: string): { folderId: string; recordId: string }[] {
  return list('records', value).map((pair) => {
    const [f, r, extra] = pair.split(':');
    if (f === undefined || r === undefined || extra !== undefined) {
      throw invalidInput(
        `--records takes FOLDER:RECORD pairs separated by commas (got "${pair}").`,
      );
    }
    return {
      folderId: folderId(f),
      recordId: id('--records', r, 'record', 'see `carnet record list --folder ID`'),
    };
  });
}

function scopeText(g: GrantInfo): string {
  if (g.rights === 'import') return 'import batch';
  if ('folders' in g.scope) {
    const n = g.scope.folders.length;
    return n === 1 ? `folder ${g.scope.folders[0]}` : `${n} folders`;
  }
  const n = g.scope.records.length;
  return n === 1 ? `record ${g.scope.records[0]!.recordId}` : `${n} records`;
}

/** A grant with the names of both sides, for output. */
async function named(
  client: Parameters<typeof userNames>[0],
  grants: GrantInfo[],
): Promise<(GrantInfo & { practitionerName: string; agentName: string })[]> {
  const names = await userNames(
    client,
    grants.flatMap((g) => [g.practitionerId, g.agentId]),
  );
  return grants.map((g) => ({
    ...g,
    practitionerName: names.get(g.practitionerId) ?? g.practitionerId,
    agentName: names.get(g.agentId) ?? g.agentId,
  }));
}

const create: Command = {
  name: 'grant create',
  summary: 'Let a support agent read some folders or records (or import) for a limited time.',
  synopsis:
    '--agent USER --fingerprint CODE (--folders ID,… | --records FOLDER:RECORD,…) ' +
    '--rights read|import --for DURATION --reason TEXT',
  details: [
    'CODE is the safety code the agent reads to you from `carnet whoami`, compared over another',
    'channel; a mismatch is refused and nothing is granted. DURATION: 30m, 2h, 1h30m… at most',
    '24h. With --rights import, give neither --folders nor --records: the agent can add new',
    'patients and records for you to review, and read nothing.',
    '',
    'The reason (e.g. a ticket number, at most 500 characters) is signed into the grant and is',
    'NOT encrypted: the relay operator, the agent and the patients concerned can read it.',
    'Keep health details out of it.',
    '',
    'When the grant ends (expiry or `carnet grant revoke`), your next command rotates the key',
    'of every folder it covered: nothing written afterwards can be read with its keys.',
    '',
    'Example:',
    '  carnet grant create --agent help.desk --fingerprint "01234 56789 01234 56789 01234 56789" \\',
    '      --folders ID --rights read --for 2h --reason "Ticket 4521: attachment does not open"',
  ].join('\n'),
  options: {
    agent: { type: 'string' },
    fingerprint: { type: 'string' },
    folders: { type: 'string' },
    records: { type: 'string' },
    rights: { type: 'string' },
    for: { type: 'string' },
    reason: { type: 'string' },
  },
  async run(inv) {
    const agent = userName(required(inv, 'agent', 'USER'), '--agent');
    inv.context.subject = agent;
    const code = safetyCode(required(inv, 'fingerprint', 'CODE'));
    const rights = choice('rights', required(inv, 'rights', 'read|import'), [
      'read',
      'import',
    ] as const);
    const durationMs = duration(required(inv, 'for', 'DURATION'));
    const reason = label('reason', required(inv, 'reason', 'TEXT'), 500);
    const folders = optional(inv, 'folders');
    const records = optional(inv, 'records');
    if (folders !== undefined && records !== undefined) {
      throw usage('Give either --folders or --records, not both.');
    }
    if (rights === 'import' && (folders !== undefined || records !== undefined)) {
      throw usage('An import grant has no --folders or --records: it reads nothing.');
    }
    if (rights === 'read' && folders === undefined && records === undefined) {
      throw usage('A read grant needs --folders ID,… or --records FOLDER:RECORD,….');
    }
    const scope =
      folders !== undefined
        ? { folders: list('folders', folders).map(folderId) }
        : records !== undefined
          ? { records: recordPairs(records) }
          : {};
    const s = await signedIn(inv);
    const g = await s.client.grants.create({
      agent,
      safetyCode: code,
      rights,
      durationMs,
      reason,
      ...scope,
    });
    const [out] = await named(s.client, [g]);
    const what = rights === 'read' ? `read ${scopeText(g)}` : 'import data for your review';
    return {
      json: { grant: out },
      text: [
        `Grant ${g.grantId}: ${agent} may ${what} until ${when(g.expiresAt)} UTC.`,
        `Reason (visible to the relay operator): ${safe(g.reason)}`,
        `Follow it with \`carnet grant watch ${g.grantId}\`; end it with \`carnet grant revoke ${g.grantId}\`.`,
      ].join('\n'),
    };
  },
};

const listGrants: Command = {
  name: 'grant list',
  summary: 'List the support grants you gave (practitioner) or received (support agent).',
  synopsis: '',
  options: {},
  async run(inv) {
    const s = await signedIn(inv);
    const grants = await named(s.client, await s.client.grants.list());
    const rows = grants.map((g) => [
      g.grantId,
      g.role === 'practitioner' ? `to ${g.agentName}` : `from ${g.practitionerName}`,
      g.rights,
      scopeText(g),
      g.status,
      `${when(g.notBefore)} → ${when(g.expiresAt)}`,
      safe(g.reason),
    ]);
    return {
      json: { grants },
      text:
        grants.length === 0
          ? 'No support grants.'
          : table(['GRANT', 'WHO', 'RIGHTS', 'SCOPE', 'STATUS', 'WINDOW (UTC)', 'REASON'], rows),
    };
  },
};

const revoke: Command = {
  name: 'grant revoke',
  summary: 'End a support grant now; the folders it covered get a new key.',
  synopsis: 'ID',
  details:
    'The relay refuses the agent from its next request; the folder keys are rotated at once.',
  options: {},
  positionals: ['ID'],
  async run(inv) {
    const id = grantId(inv.positionals[0] ?? '');
    const s = await signedIn(inv);
    const { grant, rotated } = await s.client.grants.revoke(id);
    const [out] = await named(s.client, [grant]);
    return {
      json: { grant: out, rotated },
      text:
        `Grant ${id} revoked. ` +
        (rotated.length === 0
          ? 'No folder key needed rotating.'
          : `${rotated.length} folder${rotated.length === 1 ? '' : 's'} rotated to a new key.`),
    };
  },
};

function eventLine(e: GrantEvent, names: Map<string, string>): string {
  const who = e.actorId === null ? 'relay' : (names.get(e.actorId) ?? e.actorId);
  const where = [
    e.folderId !== null ? `folder ${e.folderId}` : '',
    e.recordId !== null ? `record ${e.recordId}${e.version !== null ? ` v${e.version}` : ''}` : '',
    e.blobId !== null ? `file ${e.blobId}` : '',
  ]
    .filter((x) => x !== '')
    .join(', ');
  return `${when(e.at)}  ${e.type.padEnd(14)} ${who}${where === '' ? '' : `  ${where}`}`;
}

function interval(inv: Invocation): number {
  const v = optional(inv, 'interval');
  if (v === undefined) return 2000;
  if (!/^\d{1,3}(\.\d{1,3})?$/.test(v) || Number(v) < 0.1) {
    throw invalidInput(`--interval must be a number of seconds, at least 0.1 (got "${v}").`);
  }
  return Math.round(Number(v) * 1000);
}

const watch: Command = {
  name: 'grant watch',
  summary: "Show a grant's audit events; with --until-end, follow them live until it ends.",
  synopsis: 'ID [--until-end] [--interval SECONDS]',
  details: [
    'Every key fetch, read, view and revocation under the grant, from every folder it covers.',
    'With --until-end, new events are printed as they happen (polling every --interval',
    'seconds, default 2) until the grant has ended; with --json, one object at the end.',
  ].join('\n'),
  options: { 'until-end': { type: 'boolean' }, interval: { type: 'string' } },
  positionals: ['ID'],
  async run(inv) {
    const id = grantId(inv.positionals[0] ?? '');
    const every = interval(inv);
    const s = await signedIn(inv);
    const grant = await s.client.grants.get(id);
    const names = new Map(
      (await named(s.client, [grant])).flatMap((g) => [
        [g.practitionerId, g.practitionerName],
        [g.agentId, g.agentName],
      ]),
    );
    const events: GrantEvent[] = [];
    if (!flag(inv, 'until-end')) {
      events.push(...(await s.client.grants.events(id)));
    } else {
      await s.client.grants.watch(id, {
        intervalMs: every,
        onEvent: (e) => {
          events.push(e);
          if (!inv.json) inv.io.stdout.write(`${eventLine(e, names)}\n`);
        },
      });
      if (!inv.json) {
        inv.io.stdout.write(`Grant ${id} has ended.\n`);
        return { json: {}, text: '', printed: true };
      }
    }
    const ended = (await s.client.grants.get(id)).status;
    return {
      json: { grantId: id, status: ended, events },
      text:
        events.length === 0
          ? `No events yet for grant ${id} (${ended}).`
          : events.map((e) => eventLine(e, names)).join('\n'),
    };
  },
};

/** The support grant command group. */
export const grantCommands: readonly Command[] = [create, listGrants, revoke, watch];

// --- reading within a grant (`record list/get --grant`) -------------------------------------

/** The validated `--grant ID` of a command, if given. */
export function grantOption(inv: Invocation): string | undefined {
  const v = optional(inv, 'grant');
  if (v === undefined) return undefined;
  return grantId(v, '--grant');
}

/**
 * The folder a read within a grant is about: `--folder` if given, else the only folder the
 * grant covers (or, with a record, the folder the grant names it in).
 */
export async function grantFolder(
  client: Parameters<typeof userNames>[0],
  grant: string,
  given: string | undefined,
  record?: string,
): Promise<string> {
  if (given !== undefined) return given;
  const g = await client.grants.get(grant);
  const candidates =
    'folders' in g.scope
      ? g.scope.folders
      : [
          ...new Set(
            g.scope.records
              .filter((r) => record === undefined || r.recordId === record)
              .map((r) => r.folderId),
          ),
        ];
  if (candidates.length === 1) return candidates[0]!;
  // The same typed refusal the SDK gives for a record outside the grant.
  if (candidates.length === 0) throw new CarnetError('GRANT_SCOPE');
  throw usage(
    `Grant ${grant} covers several folders: give --folder ID (see \`carnet grant list --json\`).`,
  );
}
