/**
 * The `carnet` CLI end to end: every command runs as a child process, as a user would run it,
 * against a real relay on 127.0.0.1 with a temporary data directory. Each actor has its own
 * CARNET_HOME, so sessions, pins and high-water marks persist between their commands (one
 * Argon2id per command, no new login). Almost every command runs with --json and its output
 * must be exactly one JSON object.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRelay, type TestRelay } from '../src/relay';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'scripts/src/cli.ts');

/** What a CLI run gave back. */
interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Someone using the CLI on their own machine. */
interface Actor {
  user: string;
  password: string;
  home: string;
}

let relay: TestRelay;
let work = '';

/** Runs `carnet args…` as `actor` in a child process. */
function carnet(actor: Actor, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: actor.home,
    CARNET_HOME: actor.home,
    CARNET_SERVER: relay.url,
    CARNET_USER: actor.user,
    CARNET_PASSWORD: actor.password,
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** Parses stdout as exactly one JSON object on one line. */
function one(r: Run): Record<string, unknown> {
  const text = r.stdout.toString('utf8');
  const lines = text.split('\n');
  expect(lines.length, `stdout: ${text} stderr: ${r.stderr}`).toBe(2);
  expect(lines[1]).toBe('');
  const parsed: unknown = JSON.parse(lines[0]!);
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
  return parsed as Record<string, unknown>;
}

/** Runs with --json, expects success, returns the object. */
async function ok(
  actor: Actor,
  args: string[],
  extraEnv?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const r = await carnet(actor, [...args, '--json'], extraEnv);
  const out = one(r);
  expect(out.error, JSON.stringify(out)).toBeUndefined();
  expect(r.code).toBe(0);
  return out;
}

/** Runs with --json, expects `{"error":{code,message}}` and the exit code. */
async function fails(
  actor: Actor,
  args: string[],
  code: string,
  exit: number,
  extraEnv?: Record<string, string>,
): Promise<string> {
  const r = await carnet(actor, [...args, '--json'], extraEnv);
  const out = one(r) as { error?: { code?: unknown; message?: unknown } };
  expect(out).toEqual({ error: { code, message: expect.any(String) as unknown } });
  expect(r.code).toBe(exit);
  return out.error!.message as string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function actor(user: string, password: string): Promise<Actor> {
  return { user, password, home: await mkdtemp(join(work, `${user}-`)) };
}

beforeAll(async () => {
  relay = await startTestRelay();
  work = await mkdtemp(join(tmpdir(), 'carnet-cli-scenario-'));
});
afterAll(async () => {
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('carnet CLI: a practitioner, a patient and a colleague', () => {
  let dr: Actor;
  let patient: Actor;
  let colleague: Actor;
  let colleagueCode = '';
  let drCode = '';
  let folder = '';
  const ids: Record<string, string> = {};
  const files: Record<string, Buffer> = {};

  it('signs the three of them up (recovery code shown once, safety codes)', async () => {
    [dr, patient, colleague] = await Promise.all([
      actor('dr.martin', 'correct horse battery'),
      actor('jeanne.dupont', 'patient password 42'),
      actor('dr.bernard', 'colleague password 7'),
    ]);
    const [a, b, c] = await Promise.all([
      ok(dr, ['signup', '--role', 'practitioner', '--name', 'Dr Claire Martin']),
      ok(patient, ['signup', '--role', 'patient']),
      // In human form, as a person would see it.
      carnet(colleague, ['signup', '--role', 'practitioner', '--name', 'Dr Paul Bernard']),
    ]);
    const account = a.account as { safetyCode: string };
    expect(account).toMatchObject({
      userName: 'dr.martin',
      role: 'practitioner',
      displayName: 'Dr Claire Martin',
    });
    expect(account.safetyCode).toMatch(/^\d{5}( \d{5}){5}$/);
    expect(a.recoveryCode).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4})+$/);
    expect(a.warning).toContain('shown only once');
    drCode = account.safetyCode;
    expect(b.account).toMatchObject({ userName: 'jeanne.dupont', role: 'patient' });

    const human = c.stdout.toString();
    expect(c.code).toBe(0);
    expect(human).toContain('RECOVERY CODE — shown only this once');
    const m = /Safety code: +(\d{5}(?: \d{5}){5})/.exec(human);
    expect(m).not.toBeNull();
    colleagueCode = m![1]!;
  });

  it('adds a patient, a note, a structured entry and files of 0 B, 1 B and 5 MiB', async () => {
    const p = await ok(dr, [
      'patient',
      'add',
      '--name',
      'Jeanne Dupont',
      '--birth-date',
      '1950-03-14',
      '--sex',
      'female',
    ]);
    expect(p.folder).toMatchObject({
      profile: { name: 'Jeanne Dupont', birthDate: '1950-03-14', sex: 'female' },
    });
    folder = (p.folder as { folderId: string }).folderId;

    files.empty = Buffer.alloc(0);
    files.one = Buffer.from('x');
    files.big = randomBytes(5 * 1024 * 1024);
    for (const [name, bytes] of Object.entries(files))
      await writeFile(join(work, `${name}.bin`), bytes);

    const add = async (key: string, args: string[]): Promise<unknown> => {
      const r = (await ok(dr, ['record', 'add', '--folder', folder, ...args])).record as {
        recordId: string;
      };
      ids[key] = r.recordId;
      return r;
    };
    expect(
      await add('note', ['--title', 'Consultation', '--text', 'Tension 13/8, RAS.']),
    ).toMatchObject({ kind: 'note', version: 1 });
    const bp = '{"systolic":130,"diastolic":80,"unit":"mm[Hg]"}';
    expect(
      await add('bp', ['--title', 'Blood pressure', '--kind', 'observation', '--structured', bp]),
    ).toMatchObject({ kind: 'observation' });
    for (const name of ['empty', 'one', 'big']) {
      expect(
        await add(name, ['--title', `File ${name}`, '--file', join(work, `${name}.bin`)]),
      ).toMatchObject({
        kind: 'document',
        fileName: `${name}.bin`,
        size: files[name]!.length,
      });
    }
  });

  it('lists the records and gets a 5 MiB file back byte-identical', async () => {
    const list = await ok(dr, ['record', 'list', '--folder', folder]);
    const records = list.records as { recordId: string; authorName: string }[];
    expect(records.map((r) => r.recordId).sort()).toEqual(Object.values(ids).sort());
    expect(new Set(records.map((r) => r.authorName))).toEqual(new Set(['dr.martin']));

    const out = join(work, 'big.out');
    const got = await ok(dr, ['record', 'get', ids.big!, '--folder', folder, '--out', out]);
    expect(got.bytes).toBe(files.big!.length);
    expect(sha256(await readFile(out))).toBe(sha256(files.big!));
  });

  it('edits a record: a new signed version', async () => {
    const edited = await ok(dr, ['record', 'edit', ids.note!, '--text', 'Tension 12/8.']);
    expect(edited.record).toMatchObject({ recordId: ids.note, version: 2, title: 'Consultation' });
  });

  it('invites the patient, who accepts and is pending until the practitioner confirms', async () => {
    const created = await ok(dr, ['invite', 'create', '--folder', folder]);
    const link = (created.invite as { link: string }).link;
    expect(link.startsWith(`${relay.url}/`)).toBe(true);
    expect(link).toMatch(/#[A-Za-z0-9_-]{20,}$/);

    const accepted = await ok(patient, ['invite', 'accept', link]);
    expect(accepted.accepted).toMatchObject({
      folderId: folder,
      inviterName: 'dr.martin',
      inviterSafetyCode: drCode,
    });
    const waiting = await ok(patient, ['patient', 'list']);
    expect(waiting.folders).toEqual([
      expect.objectContaining({ folderId: folder, status: 'pending' }),
    ]);

    // The practitioner's `patient list` verifies the answer and admits the patient; meanwhile
    // the used link is refused.
    const [drList] = await Promise.all([
      ok(dr, ['patient', 'list']),
      fails(
        { ...patient, home: await mkdtemp(join(work, 'patient-2-')) },
        ['invite', 'accept', link],
        'NOT_FOUND',
        2,
      ),
    ]);
    expect(drList.confirmedInvites).toEqual([
      expect.objectContaining({ folderId: folder, userName: 'jeanne.dupont' }),
    ]);
  });

  // The next three run at the same time (each actor runs one command at a time).
  it.concurrent('lets the patient read everything shared with them', async () => {
    const mine = await ok(patient, ['patient', 'list']);
    expect(mine.folders).toEqual([
      expect.objectContaining({
        folderId: folder,
        status: 'member',
        ownerName: 'dr.martin',
        profile: expect.objectContaining({ name: 'Jeanne Dupont' }) as unknown,
      }),
    ]);
    // The practitioner may add a record meanwhile (the colleague's test runs at the same time).
    const known = ['note', 'bp', 'empty', 'one', 'big'].map((k) => ids[k]);
    const list = await ok(patient, ['record', 'list', '--folder', folder]);
    const listed = (list.records as { recordId: string }[]).map((r) => r.recordId);
    expect(listed).toEqual(expect.arrayContaining(known));
    for (const name of ['empty', 'one']) {
      const out = join(work, `${name}.patient`);
      expect((await ok(patient, ['record', 'get', ids[name]!, '--out', out])).bytes).toBe(
        files[name]!.length,
      );
      expect(await readFile(out)).toEqual(files[name]);
    }
    const bp = await ok(patient, ['record', 'get', ids.bp!, '--folder', folder]);
    expect(bp.record).toMatchObject({
      structured: { systolic: 130, diastolic: 80, unit: 'mm[Hg]' },
    });
    // Without --folder (the CLI remembers where records are), in human form: text to stdout.
    const note = await carnet(patient, ['record', 'get', ids.note!]);
    expect(note.code).toBe(0);
    expect(note.stdout.toString()).toMatch(
      /^Consultation — note, version 2, .*\n\nTension 12\/8\.\n$/,
    );
  });

  it.concurrent('refuses a colleague on a wrong safety code; adds, then removes them', async () => {
    const wrong = colleagueCode.replace(/^(\d)/, (d) => String((Number(d) + 1) % 10));
    const args = ['share', 'add', '--folder', folder, '--user', 'dr.bernard', '--fingerprint'];
    const refused = await fails(dr, [...args, wrong], 'KEY_UNVERIFIED', 4);
    expect(refused).toContain('does not match the keys of dr.bernard');

    const shared = await ok(dr, [...args, colleagueCode]);
    expect(shared.added).toEqual({ userName: 'dr.bernard', safetyCode: colleagueCode });
    const seen = await ok(colleague, ['record', 'list', '--folder', folder]);
    expect((seen.records as unknown[]).length).toBe(5);
    const bp = await ok(colleague, ['record', 'get', ids.bp!, '--folder', folder]);
    expect(bp.record).toMatchObject({ title: 'Blood pressure' });

    const removed = await ok(dr, ['share', 'remove', '--folder', folder, '--user', 'dr.bernard']);
    expect(removed.folder).toMatchObject({ epoch: 2 });
    const after = await ok(dr, [
      'record',
      'add',
      '--folder',
      folder,
      '--title',
      'After',
      '--text',
      'Written after.',
    ]);
    ids.after = (after.record as { recordId: string }).recordId;
    const message = await fails(
      colleague,
      ['record', 'get', ids.after, '--folder', folder],
      'NOT_FOUND',
      2,
    );
    expect(message).toContain(`Record ${ids.after} was not found in folder ${folder}`);
  });

  it.concurrent('documents its failures: a bad password, an unknown folder', async () => {
    const expected =
      'Wrong password for dr.martin. Try again, or use `carnet recover` with your recovery code.';
    const wrong = { CARNET_PASSWORD: 'wrong password' };
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
    // The other actors are busy: a second device of the patient (a fresh login) is used here.
    const device = { ...patient, home: await mkdtemp(join(work, 'patient-device-')) };
    const [saved, fresh, [json, human]] = await Promise.all([
      // With the session saved under CARNET_HOME (a failure writes nothing there), and on a
      // new device (a full login).
      fails(dr, ['whoami'], 'BAD_PASSWORD', 2, wrong),
      fails(
        { ...dr, home: await mkdtemp(join(work, 'dr-device-')) },
        ['whoami'],
        'BAD_PASSWORD',
        2,
        wrong,
      ),
      fails(device, ['record', 'list', '--folder', unknown], 'NOT_FOUND', 2).then(
        async (m) => [m, await carnet(device, ['record', 'list', '--folder', unknown])] as const,
      ),
    ]);
    expect(saved).toBe(expected);
    expect(fresh).toBe(expected);
    expect(json).toContain(`Folder ${unknown} was not found`);
    expect(human.code).toBe(2);
    expect(human.stdout.length).toBe(0);
    expect(human.stderr).toBe(`carnet: ${json}\n`);
  });

  it('lets the patient read what was written after the removal, under the new key', async () => {
    const after = await ok(patient, ['record', 'get', ids.after!, '--folder', folder]);
    expect(after.record).toMatchObject({ text: 'Written after.', epoch: 2 });
  });

  it('shows who one is and what others are; logs out and in', async () => {
    const [me, fp] = await Promise.all([
      ok(dr, ['whoami']),
      ok(patient, ['fingerprint', 'dr.martin', '--expect', drCode]),
      ok(colleague, ['logout']).then(async (out) => {
        expect(out).toEqual({ loggedOut: 'dr.bernard' });
        expect((await ok(colleague, ['login'])).account).toMatchObject({ userName: 'dr.bernard' });
      }),
    ]);
    expect(me.account).toMatchObject({
      userName: 'dr.martin',
      safetyCode: drCode,
      displayName: 'Dr Claire Martin',
    });
    expect(me.usage).toMatchObject({ usedBytes: expect.any(Number) as unknown });
    expect(fp.contact).toMatchObject({
      userName: 'dr.martin',
      safetyCode: drCode,
      pin: 'unchanged',
    });
  });
});

describe('carnet server', () => {
  it('starts the relay, prints one JSON object, and stops cleanly on SIGTERM', async () => {
    const data = await mkdtemp(join(tmpdir(), 'carnet-cli-server-'));
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, 'server', '--data', data, '--port', '0', '--json'],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      const started = new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out);
        });
        child.on('close', () => reject(new Error(`server exited early: ${out}`)));
      });
      const line = JSON.parse((await started).trim()) as {
        server: { url: string; dataDir: string };
      };
      expect(line.server.dataDir).toBe(data);
      const health = await fetch(`${line.server.url}/api/v1/health`);
      expect(await health.json()).toEqual({ ok: true });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out.trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
