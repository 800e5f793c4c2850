/**
 * Deleting folders and accounts; verifying deletion receipts.
 */
import type { Command } from '../command';

/** Deleting folders and accounts; verifying deletion receipts. */
export const deletionCommands: readonly Command[] = [];
