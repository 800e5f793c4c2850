/**
 * The audit trail: `audit --folder`, `admin verify-audit`.
 */
import type { Command } from '../command';

/** The audit trail: `audit --folder`, `admin verify-audit`. */
export const auditCommands: readonly Command[] = [];
