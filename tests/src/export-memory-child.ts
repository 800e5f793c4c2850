/**
 * Child process of the export memory test (tests/test/export.test.ts): logs in, then exports
 * one folder while sampling its own resident set size, and prints one JSON line
 * `{ before, peak, summary }` (bytes). Run apart from the test process so that the relay and
 * the test's own allocations do not count. Input from the environment: RELAY, USER_NAME,
 * PASSWORD, FOLDER, OUT, RECIPIENT.
 */
import { CarnetClient } from '@carnet/shared/client';
import { exportVault } from '@carnet/shared/client/node';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
};

const client = new CarnetClient({ relayUrl: env('RELAY') });
await client.login({ userName: env('USER_NAME'), password: env('PASSWORD') });
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const summary = await exportVault(client, {
  out: env('OUT'),
  folderIds: [env('FOLDER')],
  encryption: { ageRecipient: env('RECIPIENT') },
});
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(`${JSON.stringify({ before, peak, summary })}\n`);
process.exit(0);
