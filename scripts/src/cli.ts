/**
 * The `carnet` command line: finds the command, parses and validates its options, runs it and
 * prints its result or failure. `main` takes its streams and environment as arguments so that
 * tests run it in-process; the bottom of the file runs it for real.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command, Invocation, Options } from './command';
import { accountCommands } from './commands/account';
import { adminCommands } from './commands/admin';
import { auditCommands } from './commands/audit';
import { deletionCommands } from './commands/deletion';
import { exportCommands } from './commands/export';
import { grantCommands } from './commands/grant';
import { importCommands } from './commands/import';
import { inviteCommands } from './commands/invite';
import { patientCommands } from './commands/patient';
import { recordCommands } from './commands/record';
import { serverCommands } from './commands/server';
import { shareCommands } from './commands/share';
import { DEFAULT_SERVER } from './config';
import { usage } from './errors';
import { processIo, type Io } from './io';
import { describeFailure, printFailure, printResult } from './output';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Options = {
  server: { type: 'string' },
  user: { type: 'string' },
  as: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Commands by section, in help order. */
export const SECTIONS: readonly { title: string; commands: readonly Command[] }[] = [
  { title: 'Relay', commands: serverCommands },
  { title: 'Account', commands: accountCommands },
  { title: 'Patients', commands: patientCommands },
  { title: 'Records', commands: recordCommands },
  { title: 'Invites', commands: inviteCommands },
  { title: 'Sharing', commands: shareCommands },
  { title: 'Support grants', commands: grantCommands },
  { title: 'Import', commands: importCommands },
  { title: 'Export', commands: exportCommands },
  { title: 'Audit trail', commands: auditCommands },
  { title: 'Deletion', commands: deletionCommands },
  { title: 'Relay administration', commands: adminCommands },
];

/** Every command. */
export const COMMANDS: readonly Command[] = SECTIONS.flatMap((s) => s.commands);

const FOOTER = `Global options:
  --server URL   the relay (env CARNET_SERVER; default ${DEFAULT_SERVER})
  --user NAME    your account name (env CARNET_USER); in \`share\` commands, the colleague
  --as NAME      your account name, where --user names someone else
  --json         print exactly one JSON object on stdout, failures included
  -h, --help     help on a command

Environment: CARNET_PASSWORD (else you are asked), CARNET_RECOVERY_CODE (for recover),
CARNET_HOME (local state; default $XDG_CONFIG_HOME/carnet or ~/.config/carnet).

Exit codes: 0 success; 1 usage or invalid input, including a file that is missing or cannot be
opened (nothing was sent); 2 refused by the relay or
the core (wrong password, unknown folder, conflict…); 3 relay unreachable; 4 a security check
failed (signature, key change, integrity: do not retry blindly); 5 a local file failed during the operation and could not be
read or written; 70 bug; 130 interrupted.`;

/** The general help text. */
export function generalHelp(): string {
  const lines = ['carnet — end-to-end encrypted health records, from the command line.', ''];
  lines.push('Usage: carnet <command> [options]', '');
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  for (const s of SECTIONS) {
    lines.push(`${s.title}:`);
    for (const c of s.commands) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
    lines.push('');
  }
  lines.push('Run `carnet help <command>` for its options and examples.', '', FOOTER);
  return lines.join('\n');
}

/** Help on one command. */
export function commandHelp(c: Command): string {
  const parts = [`Usage: carnet ${c.name} ${c.synopsis}`.trimEnd(), '', c.summary];
  if (c.details) parts.push('', c.details);
  parts.push('', 'Also: --server URL, --user NAME, --json. See `carnet help`.');
  return parts.join('\n');
}

const VALUED_GLOBALS = new Set(['--server', '--user', '--as']);
const FLAG_GLOBALS = new Set(['--json', '--help', '-h']);

/**
 * Splits argv into the command words and the rest. Global options may come before the command
 * (`carnet --json whoami`); they are moved to the rest unchanged.
 */
export function findCommand(argv: readonly string[]): {
  command: Command | undefined;
  /** The command words found (the first word only when no command matched). */
  words: string[];
  /** Everything else, global options included, for parseArgs. */
  rest: string[];
  /** What followed the command words. */
  after: string[];
} {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (FLAG_GLOBALS.has(a) || [...VALUED_GLOBALS].some((g) => a.startsWith(`${g}=`))) lead.push(a);
    else if (VALUED_GLOBALS.has(a) && i + 1 < argv.length) lead.push(a, argv[++i]!);
    else break;
    i++;
  }
  const w1 = argv[i];
  const w2 = argv[i + 1];
  const two = COMMANDS.find((c) => c.name === `${w1} ${w2}`);
  const one = COMMANDS.find((c) => c.name === w1);
  const command = two ?? one;
  const words = two ? [w1!, w2!] : w1 === undefined ? [] : [w1];
  const after = argv.slice(i + words.length);
  return { command, words, rest: [...lead, ...after], after };
}

function unknownCommand(words: string[]): Error {
  const [w] = words;
  if (w === undefined) return usage('No command given. Run `carnet help` for the list.');
  const sub = COMMANDS.filter((c) => c.name.startsWith(`${w} `)).map((c) => c.name);
  if (sub.length > 0) return usage(`\`carnet ${w}\` needs a subcommand: ${sub.join(', ')}.`);
  return usage(`Unknown command "${w}". Run \`carnet help\` for the list.`);
}

/** Runs `help [command…]`. */
function help(io: Io, json: boolean, topic: string[]): number {
  const name = topic.join(' ');
  const command = COMMANDS.find((c) => c.name === name);
  const group = COMMANDS.filter((c) => c.name.startsWith(`${name} `));
  let text: string;
  if (topic.length === 0) text = generalHelp();
  else if (command) text = commandHelp(command);
  else if (group.length > 0) text = group.map(commandHelp).join('\n\n');
  else throw unknownCommand(topic);
  printResult(io, json, { json: { help: text }, text });
  return 0;
}

/**
 * Ids are random base64url, so one in 64 starts with `-` and parseArgs would take it for an
 * option (`carnet record get -Hx…`, `--folder -Q…`). Such tokens are shielded behind a
 * placeholder while parsing and restored after. No option name has an id's exact shape.
 */
const DASH_ID = /^-[A-Za-z0-9_-]{20}[AQgw]$/;
const SHIELD = '\u0000carnet-id:';

function shieldIds(args: readonly string[]): string[] {
  return args.map((a) => (DASH_ID.test(a) ? SHIELD + a : a));
}

function unshield<T>(v: T): T {
  if (typeof v === 'string' && v.startsWith(SHIELD)) return v.slice(SHIELD.length) as T;
  if (Array.isArray(v)) return v.map(unshield) as T;
  return v;
}

/** Parses argv with the command's and the global options; parse errors become usage errors. */
function parse(command: Command, rest: string[]): ReturnType<typeof parseArgs> {
  try {
    const parsed = parseArgs({
      args: shieldIds(rest),
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    for (const [k, v] of Object.entries(parsed.values)) parsed.values[k] = unshield(v);
    parsed.positionals = parsed.positionals.map(unshield);
    return parsed;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\. To specify.*$/s, '') : String(e);
    throw usage(`${why} (in \`carnet ${command.name}\`). Run \`carnet help ${command.name}\`.`);
  }
}

function checkPositionals(command: Command, positionals: string[]): void {
  const expected = command.positionals ?? [];
  if (positionals.length < expected.length) {
    throw usage(
      `Missing ${expected.slice(positionals.length).join(' ')}: carnet ${command.name} ${command.synopsis}`,
    );
  }
  if (positionals.length > expected.length) {
    throw usage(
      `Unexpected argument "${positionals[expected.length]}" to \`carnet ${command.name}\`.`,
    );
  }
}

/** Hooks for tests. */
export interface MainOptions {
  /** Replaces waiting for SIGINT/SIGTERM (used by `server`). */
  waitForStop?: () => Promise<string>;
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  io: Io,
  opts: MainOptions = {},
): Promise<number> {
  // Known before parsing succeeds, so that even a usage error comes out as JSON.
  const dashdash = argv.indexOf('--');
  const json = (dashdash < 0 ? argv : argv.slice(0, dashdash)).includes('--json');
  const context: Invocation['context'] = { server: io.env.CARNET_SERVER || DEFAULT_SERVER };
  try {
    const { command, words, rest, after } = findCommand(argv);
    if (!command) {
      // `carnet help [topic…]`, `carnet --help`, `carnet record --help`.
      if (words[0] === 'help')
        return help(
          io,
          json,
          after.filter((a) => !a.startsWith('-')),
        );
      if (rest.includes('--help') || rest.includes('-h')) return help(io, json, words);
      throw unknownCommand(words);
    }
    const { values, positionals } = parse(command, rest);
    if (values.help === true) return help(io, json, command.name.split(' '));
    checkPositionals(command, positionals);
    const inv: Invocation = {
      io,
      json,
      values,
      positionals,
      context,
      waitForStop: opts.waitForStop ?? waitForSignal,
    };
    const result = await command.run(inv);
    printResult(io, json, result);
    return result.exit ?? 0;
  } catch (e) {
    const failure = describeFailure(e, context);
    printFailure(io, json, failure);
    return failure.exit;
  }
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), processIo());
  // Exit once stdout has drained (a large answer, a streamed file) rather than waiting for
  // idle keep-alive sockets to the relay to time out.
  process.stdout.write('', () => process.exit(code));
}
