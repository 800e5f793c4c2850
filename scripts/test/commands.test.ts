/**
 * Client commands run in-process (fast: no process start) against a real relay on 127.0.0.1:
 * the paths the child-process scenario in tests/ does not take.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@carnet/server';
import { oneJson, run, type Run } from './io-helpers';

let relay: { url: string; close(): Promise<void> };
let work = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'carnet-cmd-'));
  relay = await startServer({ dataDir: join(work, 'data'), port: 0, log: () => {} });
});
afterAll(async () => {
  await relay?.close();
  await rm(work, { recursive: true, force: true });
});

/** Runs commands as `user`, with local state in `<work>/<device>` (resolved at run time). */
function as(
  user: string,
  device = user,
): (argv: string[], extra?: Record<string, string>) => Promise<Run> {
  return (argv, extra = {}) =>
    run(argv, {
      CARNET_HOME: join(work, device),
      CARNET_SERVER: relay.url,
      CARNET_USER: user,
      CARNET_PASSWORD: `${user} password`,
      ...extra,
    });
}

async function json(p: Promise<Run>): Promise<Record<string, unknown>> {
  const r = await p;
  const out = oneJson(r.stdout);
  expect(out.error, JSON.stringify(out)).toBeUndefined();
  expect(r.code).toBe(0);
  return out;
}

describe('client commands in-process', () => {
  const dr = as('dr.house');
  const other = as('dr.wilson');
  let folder = '';
  let doc = '';
  let wilsonCode = '';
  let wilsonId = '';
  const content = randomBytes(70_000);

  it('signs up and creates a folder with a document', async () => {
    await json(dr(['signup', '--role', 'practitioner', '--json']));
    const wilson = await json(other(['signup', '--role', 'practitioner', '--json']));
    ({ safetyCode: wilsonCode, accountId: wilsonId } = wilson.account as {
      safetyCode: string;
      accountId: string;
    });
    folder = (
      (await json(dr(['patient', 'add', '--name', 'Greg', '--json']))).folder as {
        folderId: string;
      }
    ).folderId;
    await writeFile(join(work, 'scan.pdf'), content);
    const added = await json(
      dr(['record', 'add', '--folder', folder, '--file', join(work, 'scan.pdf'), '--json']),
    );
    expect(added.record).toMatchObject({
      title: 'scan.pdf',
      mimeType: 'application/pdf',
      size: content.length,
    });
    doc = (added.record as { recordId: string }).recordId;
  });

  it('streams a file to stdout when it is a pipe', async () => {
    const r = await dr(['record', 'get', doc]);
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.equals(content)).toBe(true);
  });

  it('asks for --out before downloading a file in JSON mode', async () => {
    const r = await dr(['record', 'get', doc, '--json']);
    expect(r.code).toBe(1);
    expect(oneJson(r.stdout)).toMatchObject({
      error: { code: 'OUT_REQUIRED', message: expect.stringContaining('--out PATH') as unknown },
    });
  });

  it('renames a document without changing its content (the file is re-encrypted)', async () => {
    const edited = await json(dr(['record', 'edit', doc, '--title', 'Scanner thorax', '--json']));
    expect(edited.record).toMatchObject({
      version: 2,
      title: 'Scanner thorax',
      fileName: 'scan.pdf',
    });
    const out = join(work, 'scan.out');
    await json(dr(['record', 'get', doc, '--out', out, '--json']));
    expect(await readFile(out)).toEqual(content);
    const r = await dr(['record', 'edit', doc, '--structured', '{"a":1}']);
    expect(r.stderr).toBe('carnet: A document has no structured content: drop --structured.\n');
  });

  it('finds the folder of a record it never saw (another device of the same account)', async () => {
    const fresh = as('dr.house', 'house-laptop');
    const got = await json(
      fresh(['record', 'get', doc, '--version', '1', '--out', join(work, 'v1.out'), '--json']),
    );
    expect(got.record).toMatchObject({ version: 1, title: 'scan.pdf' });
    const unknown = await fresh(['record', 'get', 'BBBBBBBBBBBBBBBBBBBBBB', '--json']);
    expect(unknown.code).toBe(2);
    expect(oneJson(unknown.stdout)).toMatchObject({
      error: {
        code: 'NOT_FOUND',
        message: expect.stringContaining('Record BBBBBBBBBBBBBBBBBBBBBB was not found') as unknown,
      },
    });
  });

  it('lists folders and records in human form', async () => {
    const list = await dr(['patient', 'list']);
    expect(list.stdout).toMatch(
      new RegExp(`^FOLDER +PATIENT +BORN +SEX +ROLE +OWNER\\n${folder} +Greg +owner +you\\n$`),
    );
    const records = await dr(['record', 'list', '--folder', folder]);
    expect(records.stdout).toContain(`${doc}  2  document  Scanner thorax  scan.pdf (68 KiB)`);
  });

  it('pins on first use, verifies a given code, and stops hard on a changed key', async () => {
    const first = await dr(['fingerprint', 'dr.wilson']);
    expect(first.stdout).toBe(
      `dr.wilson (practitioner)\nSafety code:  ${wilsonCode}\nFirst time seen: pinned now. Compare this code with dr.wilson over another channel (phone, in person); any later change will be refused.\n`,
    );
    const wrong = '00000 00000 00000 00000 00000 00000';
    const refused = await dr(['fingerprint', 'dr.wilson', '--expect', wrong, '--json']);
    expect(refused.code).toBe(4);
    expect(oneJson(refused.stdout)).toMatchObject({ error: { code: 'KEY_UNVERIFIED' } });

    // Simulate a key change: this device's pin for dr.wilson (SDK state, keyed by account id)
    // no longer matches the keys the relay serves.
    const dir = join(work, 'dr.house');
    const [serverDir] = await readdir(dir);
    const path = join(dir, serverDir!, 'dr.house', 'state.json');
    const state = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    const pin = Object.keys(state).find((k) => k.endsWith(`/pin/${wilsonId}`));
    expect(pin).toBeDefined();
    state[pin!] = 'ab'.repeat(32);
    await writeFile(path, JSON.stringify(state));
    const changed = await dr(['fingerprint', 'dr.wilson']);
    expect(changed.code).toBe(4);
    expect(changed.stderr).toBe(
      'carnet: The safety code of dr.wilson changed since you pinned it. Compare the new code with them over another channel, then run `carnet fingerprint dr.wilson --accept CODE`.\n',
    );
    const accepted = await json(dr(['fingerprint', 'dr.wilson', '--accept', wilsonCode, '--json']));
    expect(accepted.contact).toMatchObject({ safetyCode: wilsonCode, pin: 'verified' });
    expect((await dr(['fingerprint', 'dr.wilson'])).stdout).toContain(
      'Unchanged since it was pinned.',
    );
  });

  it('refuses to remove someone who is not a member, or the owner', async () => {
    const notMember = await dr(['share', 'remove', '--folder', folder, '--user', 'dr.wilson']);
    expect(notMember.stderr).toBe(
      `carnet: dr.wilson is not a member of folder ${folder}: nothing to remove.\n`,
    );
    const owner = await dr(['share', 'remove', '--folder', folder, '--user', 'dr.house', '--json']);
    expect(oneJson(owner.stdout)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
  });

  it('confirms accepted invitations with invite sync', async () => {
    const patient = as('greg.patient');
    await json(patient(['signup', '--role', 'patient', '--json']));
    const link = (
      (await json(dr(['invite', 'create', '--folder', folder, '--expires-in', '1', '--json'])))
        .invite as { link: string }
    ).link;
    await json(patient(['invite', 'accept', link, '--json']));
    const synced = await json(dr(['invite', 'sync', '--json']));
    expect(synced.confirmed).toEqual([
      expect.objectContaining({ folderId: folder, userName: 'greg.patient' }),
    ]);
    expect((await json(dr(['invite', 'sync', '--folder', folder, '--json']))).confirmed).toEqual(
      [],
    );
    expect(
      (await json(patient(['record', 'list', '--folder', folder, '--json']))).records,
    ).toHaveLength(1);
  });
});
