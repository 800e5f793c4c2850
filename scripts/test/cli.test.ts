import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, findCommand, GLOBAL_OPTIONS } from '../src/cli';
import { oneJson, run } from './io-helpers';

const ID = 'abcdefghijABCDEFGHIJ_-';
const DASH_ID = '-HbcdefghijABCDEFGHIJQ';

/** A loopback port nobody listens on: a command that reaches the network fails as unreachable. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

let DEAD = '';
let home = '';
let env: Record<string, string> = {};
beforeAll(async () => {
  DEAD = `http://127.0.0.1:${await closedPort()}`;
  home = await mkdtemp(join(tmpdir(), 'carnet-cli-'));
  env = { CARNET_HOME: home, CARNET_SERVER: DEAD, CARNET_USER: 'dr.martin' };
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('command lookup', () => {
  it('finds one- and two-word commands, with global options before them', () => {
    expect(findCommand(['record', 'add', '--folder', ID]).command?.name).toBe('record add');
    const r = findCommand(['--json', '--server', DEAD, 'whoami', '--user', 'x']);
    expect(r.command?.name).toBe('whoami');
    expect(r.rest).toEqual(['--json', '--server', DEAD, '--user', 'x']);
    expect(findCommand(['--user=dr.x', 'patient', 'list']).command?.name).toBe('patient list');
    expect(findCommand(['patient']).command).toBeUndefined();
  });

  it('gives every command a summary, a help text and no option clashing with a global one', () => {
    for (const c of COMMANDS) {
      expect(c.summary.length, c.name).toBeGreaterThan(10);
      for (const o of Object.keys(c.options)) {
        // Only `share` reuses --user, on purpose, to name the colleague.
        if (c.name.startsWith('share ') && o === 'user') continue;
        expect(Object.keys(GLOBAL_OPTIONS), `${c.name} --${o}`).not.toContain(o);
      }
    }
  });
});

describe('help and usage errors', () => {
  it('lists every command and the exit codes', async () => {
    const r = await run(['help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name} `);
    expect(r.stdout).toContain('Exit codes: 0 success; 1 usage');
  });

  it('shows help on one command, as --help too', async () => {
    const a = await run(['help', 'record', 'add']);
    const b = await run(['record', 'add', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('Usage: carnet record add --folder ID --title TITLE');
    expect(b.stdout).toBe(a.stdout);
    expect((await run(['help', 'share'])).stdout).toContain('carnet share remove');
    expect((await run(['share', '--help'])).stdout).toBe((await run(['help', 'share'])).stdout);
    expect((await run(['--server', 'http://x', 'help'])).stdout).toContain(
      'Usage: carnet <command>',
    );
    expect((await run(['help', 'nope'])).code).toBe(1);
  });

  it('prints the help as one JSON object with --json', async () => {
    const r = await run(['help', '--json']);
    expect(oneJson(r.stdout)).toEqual({ help: expect.stringContaining('carnet') as unknown });
  });

  it('exits 1 with one line on stderr for no command, unknown ones and missing subcommands', async () => {
    for (const [argv, msg] of [
      [[], 'No command given'],
      [['frobnicate'], 'Unknown command "frobnicate"'],
      [
        ['record'],
        '`carnet record` needs a subcommand: record add, record list, record get, record edit.',
      ],
    ] as const) {
      const r = await run([...argv], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(`^carnet: .*${msg.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}.*\n$`),
      );
    }
  });

  it('reports unknown options, missing and extra arguments as USAGE JSON', async () => {
    const cases: string[][] = [
      ['patient', 'add', '--nme', 'X'],
      ['record', 'get'],
      ['record', 'get', ID, 'extra'],
      ['record', 'add', '--title', 'x', '--text', 'y'],
      ['fingerprint', 'dr.bernard', '--expect', '1', '--accept', '2'],
    ];
    for (const argv of cases) {
      const r = await run([...argv, '--json'], env);
      expect(r.code, argv.join(' ')).toBe(1);
      const out = oneJson(r.stdout);
      expect(out, argv.join(' ')).toEqual({
        error: { code: 'USAGE', message: expect.any(String) as unknown },
      });
      expect(r.stderr).toBe('');
    }
    const unknown = oneJson((await run(['patient', 'add', '--nme', 'X', '--json'], env)).stdout);
    expect(JSON.stringify(unknown)).toContain('--nme');
  });
});

describe('validation before the network', () => {
  const invalid: [string, string[], string][] = [
    ['a bad folder id', ['record', 'list', '--folder', 'nope'], 'INVALID_INPUT'],
    ['a bad record id', ['record', 'get', 'nope'], 'INVALID_INPUT'],
    [
      'a bad date',
      ['patient', 'add', '--name', 'J', '--birth-date', '1950-02-30'],
      'INVALID_INPUT',
    ],
    ['a bad sex', ['patient', 'add', '--name', 'J', '--sex', 'f'], 'INVALID_INPUT'],
    ['a bad role', ['signup', '--role', 'doctor'], 'INVALID_INPUT'],
    [
      'a bad kind',
      ['record', 'add', '--folder', ID, '--title', 't', '--text', 'x', '--kind', 'memo'],
      'INVALID_INPUT',
    ],
    [
      'a missing file',
      ['record', 'add', '--folder', ID, '--file', '/nonexistent/scan.pdf'],
      'FILE_NOT_FOUND',
    ],
    [
      'an --out in no directory',
      ['record', 'get', ID, '--out', '/nonexistent/x.pdf'],
      'FILE_UNWRITABLE',
    ],
    ['an --out that is a directory', ['record', 'get', ID, '--out', tmpdir()], 'FILE_UNWRITABLE'],
    // One id in 64 starts with '-': it must still be read as an id, not as an option.
    [
      'an id starting with a dash, as argument',
      ['record', 'get', DASH_ID, '--out', tmpdir()],
      'FILE_UNWRITABLE',
    ],
    [
      'an id starting with a dash, as option value',
      ['record', 'add', '--folder', DASH_ID, '--title', 't', '--text', 'x', '--kind', 'memo'],
      'INVALID_INPUT',
    ],
    [
      'bad JSON',
      ['record', 'add', '--folder', ID, '--title', 't', '--structured', '{x'],
      'INVALID_INPUT',
    ],
    ['a note without text', ['record', 'add', '--folder', ID, '--title', 't'], 'USAGE'],
    [
      'file and structured',
      ['record', 'add', '--folder', ID, '--file', 'a', '--structured', '{}'],
      'USAGE',
    ],
    [
      'a bad safety code',
      ['share', 'add', '--folder', ID, '--user', 'dr.bernard', '--fingerprint', '123'],
      'INVALID_INPUT',
    ],
    ['a bad user name', ['whoami', '--user', 'x'], 'INVALID_INPUT'],
    ['a bad server', ['whoami', '--server', 'localhost:8080'], 'INVALID_INPUT'],
    [
      'a link without secret',
      ['invite', 'accept', 'http://127.0.0.1:8080/invite'],
      'INVALID_INPUT',
    ],
    ['a bad expiry', ['invite', 'create', '--folder', ID, '--expires-in', '31'], 'INVALID_INPUT'],
    ['an edit with nothing to change', ['record', 'edit', ID], 'USAGE'],
    ['a bad port', ['server', '--port', '99999'], 'INVALID_INPUT'],
  ];
  it.each(invalid)('refuses %s with exit 1', async (_what, argv, code) => {
    const r = await run([...argv, '--json'], { ...env, CARNET_PASSWORD: 'pw' });
    expect(oneJson(r.stdout)).toEqual({ error: { code, message: expect.any(String) as unknown } });
    expect(r.code).toBe(1);
  });

  it('names the problem and the fix in one stderr line', async () => {
    const r = await run(['record', 'add', '--folder', ID, '--file', '/nonexistent/scan.pdf'], env);
    expect(r.stderr).toBe('carnet: --file /nonexistent/scan.pdf: no such file. Check the path.\n');
  });
});

describe('passwords and the relay', () => {
  it('refuses clearly when there is no password and no terminal', async () => {
    const r = await run(['whoami', '--json'], env);
    expect(r.code).toBe(1);
    expect(oneJson(r.stdout)).toEqual({
      error: {
        code: 'NO_PASSWORD',
        message:
          'No password: set CARNET_PASSWORD, or run carnet in a terminal to be asked for it.',
      },
    });
  });

  it('needs a user', async () => {
    const r = await run(['whoami'], { CARNET_HOME: home, CARNET_PASSWORD: 'pw' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('carnet: No user given: pass --user NAME or set CARNET_USER.\n');
  });

  it('in share commands, --user is the colleague and the acting account is --as or CARNET_USER', async () => {
    const argv = ['share', 'remove', '--folder', ID, '--user', 'dr.bernard', '--json'];
    const noActor = await run(argv, {
      CARNET_HOME: home,
      CARNET_PASSWORD: 'pw',
      CARNET_SERVER: DEAD,
    });
    expect(oneJson(noActor.stdout)).toMatchObject({ error: { code: 'NO_USER' } });
    const withAs = await run([...argv, '--as', 'dr.martin'], {
      CARNET_HOME: home,
      CARNET_PASSWORD: 'pw',
      CARNET_SERVER: DEAD,
    });
    expect(oneJson(withAs.stdout)).toMatchObject({ error: { code: 'RELAY_UNREACHABLE' } });
  });

  it('says the relay is unreachable with exit 3', async () => {
    const r = await run(['whoami'], { ...env, CARNET_PASSWORD: 'pw' });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `carnet: Cannot reach the relay at ${DEAD} (ECONNREFUSED). Is it running? ` +
        'Start one with `carnet server`, or pass --server URL.\n',
    );
  });
});
