/**
 * Support grants: create, list, revoke, watch; reading within a grant.
 */
import type { Command } from '../command';

/** Support grants: create, list, revoke, watch; reading within a grant. */
export const grantCommands: readonly Command[] = [];
