/**
 * `carnet grant …` and `carnet record list/get --grant` in-process (the CLI's `main` with
 * captured streams) against a real relay on 127.0.0.1: a practitioner grants a support agent
 * read access to a folder, the agent lists and reads within it, the practitioner watches and
 * revokes it (the folder key is rotated at once), and every refusal has its code and exit code.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneJson, run, type Run } from '../../scripts/test/io-helpers';
import { startTestRelay, type TestRelay } from '../src/relay';

let relay: TestRelay;
let work = '';

beforeAll(async () => {
  relay = await startTestRelay();
  work = await mkdtemp(join(tmpdir(), 'carnet-grant-cli-'));
});
afterAll(async () => {
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs commands as `user`, with local state in `<work>/<user>`. */
function as(user: string): (argv: string[]) => Promise<Run> {
  return (argv) =>
    run(argv, {
      CARNET_HOME: join(work, user),
      CARNET_SERVER: relay.url,
      CARNET_USER: user,
      CARNET_PASSWORD: `${user} password`,
    });
}

async function ok(p: Promise<Run>): Promise<Record<string, unknown>> {
  const r = await p;
  const out = oneJson(r.stdout);
  expect(out.error, JSON.stringify(out)).toBeUndefined();
  expect(r.code).toBe(0);
  return out;
}

async function fails(p: Promise<Run>, code: string, exit: number): Promise<string> {
  const r = await p;
  const out = oneJson(r.stdout) as { error?: { code?: unknown; message?: unknown } };
  expect(out.error?.code, JSON.stringify(out)).toBe(code);
  expect(r.code).toBe(exit);
  return String(out.error?.message);
}

describe('carnet grant', () => {
  const dr = as('dr.cli');
  const agent = as('desk.cli');
  let agentCode = '';
  let folder = '';
  let other = '';
  let note = '';
  let doc = '';
  let secret = '';
  let grant = '';
  const content = randomBytes(50_000);

  it('sets up a practitioner with two folders and a support agent', async () => {
    await ok(dr(['signup', '--role', 'practitioner', '--json']));
    const a = await ok(agent(['signup', '--role', 'support', '--json']));
    agentCode = (a.account as { safetyCode: string }).safetyCode;
    const f = await ok(dr(['patient', 'add', '--name', 'Denise Lot', '--json']));
    folder = (f.folder as { folderId: string }).folderId;
    const g = await ok(dr(['patient', 'add', '--name', 'Émile Faure', '--json']));
    other = (g.folder as { folderId: string }).folderId;
    const n = await ok(
      dr(['record', 'add', '--folder', folder, '--title', 'Visit', '--text', 'Toux.', '--json']),
    );
    note = (n.record as { recordId: string }).recordId;
    await writeFile(join(work, 'scan.pdf'), content);
    const d = await ok(
      dr(['record', 'add', '--folder', folder, '--file', join(work, 'scan.pdf'), '--json']),
    );
    doc = (d.record as { recordId: string }).recordId;
    const s = await ok(
      dr(['record', 'add', '--folder', other, '--title', 'Other', '--text', 'no', '--json']),
    );
    secret = (s.record as { recordId: string }).recordId;
    expect(await ok(agent(['grant', 'list', '--json']))).toEqual({ grants: [] });
  });

  it('refuses bad durations, scopes and safety codes before granting anything', async () => {
    const base = ['grant', 'create', '--agent', 'desk.cli', '--fingerprint', agentCode];
    const read = ['--folders', folder, '--rights', 'read', '--reason', 'Ticket 9'];
    const long = await fails(dr([...base, ...read, '--for', '25h', '--json']), 'USAGE', 1);
    expect(long).toMatch(/at most 24h/);
    await fails(dr([...base, ...read, '--for', '2 hours', '--json']), 'USAGE', 1);
    await fails(
      dr([...base, ...read, '--records', `${folder}:${note}`, '--for', '1h', '--json']),
      'USAGE',
      1,
    );
    await fails(
      dr([
        ...base,
        '--rights',
        'import',
        '--folders',
        folder,
        '--for',
        '1h',
        '--reason',
        'x',
        '--json',
      ]),
      'USAGE',
      1,
    );
    await fails(
      dr([...base, '--folders', folder, '--rights', 'read', '--for', '1h', '--json']),
      'USAGE',
      1,
    );
    const wrong = agentCode.replace(/^\d/, (c) => String((Number(c) + 1) % 10));
    await fails(
      dr([
        'grant',
        'create',
        '--agent',
        'desk.cli',
        '--fingerprint',
        wrong,
        ...read,
        '--for',
        '1h',
        '--json',
      ]),
      'KEY_UNVERIFIED',
      4,
    );
    expect(await ok(dr(['grant', 'list', '--json']))).toEqual({ grants: [] });
  });

  it('creates a read grant; the help and the output say the reason is visible to the operator', async () => {
    const help = await run(['help', 'grant', 'create'], {});
    expect(help.stdout).toMatch(/relay operator/);
    const human = await dr([
      'grant',
      'create',
      '--agent',
      'desk.cli',
      '--fingerprint',
      agentCode,
      '--folders',
      folder,
      '--rights',
      'read',
      '--for',
      '1h30m',
      '--reason',
      'Ticket 4521',
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/visible to the relay operator\): Ticket 4521/);
    grant = /^Grant ([A-Za-z0-9_-]{22}):/.exec(human.stdout)![1]!;
    const listed = await ok(dr(['grant', 'list', '--json']));
    const g = (listed.grants as Record<string, unknown>[])[0]!;
    expect(g).toMatchObject({
      grantId: grant,
      role: 'practitioner',
      agentName: 'desk.cli',
      rights: 'read',
      status: 'active',
      reason: 'Ticket 4521',
      scope: { folders: [folder] },
    });
    expect((g.expiresAt as number) - (g.notBefore as number)).toBe(90 * 60_000);
  });

  it('lets the agent list and read within the grant, and nothing outside it', async () => {
    const listed = await ok(agent(['grant', 'list', '--json']));
    expect(listed.grants).toMatchObject([
      { grantId: grant, role: 'agent', practitionerName: 'dr.cli', status: 'active' },
    ]);
    const text = await agent(['grant', 'list']);
    expect(text.stdout).toMatch(/from dr\.cli/);
    const records = await ok(agent(['record', 'list', '--grant', grant, '--json']));
    expect((records.records as { title: string }[]).map((r) => r.title).sort()).toEqual([
      'Visit',
      'scan.pdf',
    ]);
    const read = await ok(agent(['record', 'get', note, '--grant', grant, '--json']));
    expect(read.record).toMatchObject({ title: 'Visit', text: 'Toux.' });
    const out = join(work, 'agent-copy.pdf');
    await ok(agent(['record', 'get', doc, '--grant', grant, '--out', out, '--json']));
    expect((await readFile(out)).equals(content)).toBe(true);
    await fails(
      agent(['record', 'get', secret, '--grant', grant, '--folder', other, '--json']),
      'GRANT_SCOPE',
      2,
    );
    await fails(agent(['record', 'list', '--folder', folder, '--json']), 'NOT_FOUND', 2);
  });

  it('shows the practitioner what the agent did, then revokes and rotates at once', async () => {
    const watched = await ok(dr(['grant', 'watch', grant, '--json']));
    const types = (watched.events as { type: string }[]).map((e) => e.type);
    expect(types).toContain('grant.keys');
    expect(types).toContain('grant.read');
    expect(types).toContain('viewed');
    const human = await dr(['grant', 'watch', grant]);
    expect(human.stdout).toMatch(/grant\.read +desk\.cli/);

    const before = await ok(dr(['patient', 'list', '--json']));
    const epoch = (before.folders as { folderId: string; epoch: number }[]).find(
      (f) => f.folderId === folder,
    )!.epoch;
    const revoked = await ok(dr(['grant', 'revoke', grant, '--json']));
    expect(revoked.rotated).toEqual([folder]);
    expect(revoked.grant).toMatchObject({ status: 'revoked' });
    const after = await ok(dr(['patient', 'list', '--json']));
    expect(
      (after.folders as { folderId: string; epoch: number }[]).find((f) => f.folderId === folder)!
        .epoch,
    ).toBe(epoch + 1);

    const gone = await fails(
      agent(['record', 'list', '--grant', grant, '--json']),
      'GRANT_EXPIRED',
      2,
    );
    expect(gone).toMatch(/expired or was revoked/);
    // The grant has ended: following it stops at once with everything that happened.
    const until = await ok(
      dr(['grant', 'watch', grant, '--until-end', '--interval', '0.1', '--json']),
    );
    expect(until.status).toBe('revoked');
    expect((until.events as unknown[]).length).toBe((watched.events as unknown[]).length + 1);
    await fails(dr(['grant', 'revoke', 'not-an-id', '--json']), 'INVALID_INPUT', 1);
  });
});
