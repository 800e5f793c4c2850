/**
 * What a command is (name, options, help, run function) and the helpers commands use to read
 * their parsed arguments. Each command group module exports a list of {@link Command}s.
 */
import type { ParseArgsConfig } from 'node:util';
import { usage } from './errors';
import type { Io } from './io';
import type { MessageContext } from './messages';
import type { CommandResult } from './output';

/** Option declarations in `node:util` parseArgs form. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Everything a command's `run` receives. */
export interface Invocation {
  io: Io;
  /** `--json` was given. */
  json: boolean;
  values: Values;
  positionals: string[];
  /**
   * Facts for error messages (user, folder, record…). Commands fill it in as they learn them,
   * so that a failure names what it was about.
   */
  context: Omit<MessageContext, 'detail'>;
  /**
   * Resolves with the signal's name when the user asks the process to stop (SIGINT/SIGTERM).
   * Only `server` calls it: listening for SIGINT would otherwise stop Ctrl-C from working.
   */
  waitForStop(): Promise<string>;
}

/** A `carnet` command. */
export interface Command {
  /** Words that select it, e.g. `record add`. */
  name: string;
  /** One line for `carnet help`. */
  summary: string;
  /** Arguments after the name, e.g. `--folder ID [--out PATH]`. */
  synopsis: string;
  /** Longer help: options and examples, shown by `carnet help <name>`. */
  details?: string;
  /** Command-specific options; the global ones are added by the dispatcher. */
  options: Options;
  /** Names of the required positional arguments, e.g. `['RECORD']`. */
  positionals?: readonly string[];
  run(inv: Invocation): Promise<CommandResult>;
}

/** The string value of `--name`, if given. */
export function optional(inv: Invocation, name: string): string | undefined {
  const v = inv.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The string value of `--name`, or a usage error naming it. */
export function required(inv: Invocation, name: string, hint = 'VALUE'): string {
  const v = optional(inv, name);
  if (v === undefined) throw usage(`Missing --${name} ${hint}. See \`carnet help\`.`);
  return v;
}

/** True when the boolean flag `--name` was given. */
export function flag(inv: Invocation, name: string): boolean {
  return inv.values[name] === true;
}

/** At most one of `names` may be given. */
export function atMostOne(inv: Invocation, names: readonly string[]): void {
  const given = names.filter((n) => optional(inv, n) !== undefined);
  if (given.length > 1) throw usage(`Give only one of ${given.map((n) => `--${n}`).join(', ')}.`);
}
