/**
 * Account ids → user names for display (folder owners, record authors, admitted patients).
 * Each lookup fetches the account's key bundle, which the SDK verifies and pins on first
 * sight; ids are looked up once per command.
 */
import type { CarnetClient } from './sdk';

/** User names of `ids`, the logged-in account included without a lookup. */
export async function userNames(
  client: CarnetClient,
  ids: Iterable<string>,
): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const me = client.account;
  if (me !== undefined) names.set(me.accountId, me.userName);
  for (const id of ids) {
    if (!names.has(id)) names.set(id, (await client.lookupAccount(id)).userName);
  }
  return names;
}
