/**
 * Relay administration on the data directory: statistics, backup, restore.
 */
import type { Command } from '../command';

/** Relay administration on the data directory: statistics, backup, restore. */
export const adminCommands: readonly Command[] = [];
