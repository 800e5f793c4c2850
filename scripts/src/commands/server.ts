/**
 * `carnet server`: runs the relay in this process until SIGINT or SIGTERM, then closes it
 * cleanly (in-flight requests finish, the database is closed).
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { optional, type Command } from '../command';
import { invalidInput } from '../errors';
import { port } from '../validate';

/**
 * Closes the relay while holding the event loop open: the relay's own shutdown waits on
 * unref'd handles (checkpointer worker, grace timer), and with nothing else alive Node would
 * exit mid-shutdown (code 13) before the database is closed.
 */
async function closeKeepingAlive(relay: { close(): Promise<void> }): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await relay.close();
  } finally {
    clearInterval(keepAlive);
  }
}

const server: Command = {
  name: 'server',
  summary: 'Start the relay (ciphertext store) and keep it running until Ctrl-C.',
  synopsis: '[--data DIR] [--port N] [--host H]',
  details: [
    'Options:',
    '  --data DIR   data directory (SQLite database and blob store); default ./data',
    '  --port N     TCP port, 0 for any free port; default 8080',
    '  --host H     address to listen on; default 127.0.0.1 (loopback only)',
    '',
    'Example:',
    '  carnet server --data /srv/carnet --port 9000',
  ].join('\n'),
  options: {
    data: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run(inv) {
    const dataDir = resolve(optional(inv, 'data') ?? './data');
    const listenPort = port(optional(inv, 'port') ?? '8080');
    const host = optional(inv, 'host') ?? '127.0.0.1';
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) {
      throw invalidInput(`--host must be a host name or IP address (got "${host}").`);
    }
    await mkdir(dataDir, { recursive: true });
    // Loaded here, not at the top: client commands must not pay for the relay's modules.
    const { startServer } = await import('@carnet/server');
    // Request lines go to stderr with --json: stdout carries exactly one JSON object.
    const logTo = inv.json ? inv.io.stderr : inv.io.stdout;
    const relay = await startServer({
      dataDir,
      port: listenPort,
      host,
      log: (line) => void logTo.write(`${line}\n`),
    });
    const announce = `Carnet relay listening on ${relay.url}\nData directory: ${relay.dataDir}\nStop with Ctrl-C.\n`;
    // In JSON mode the one object is printed at start-up (a supervisor waits for it); nothing
    // else goes to stdout afterwards.
    if (inv.json)
      inv.io.stdout.write(
        `${JSON.stringify({ server: { url: relay.url, dataDir: relay.dataDir } })}\n`,
      );
    else inv.io.stdout.write(announce);
    const signal = await inv.waitForStop();
    if (!inv.json) inv.io.stderr.write(`Received ${signal}, stopping the relay…\n`);
    await closeKeepingAlive(relay);
    if (!inv.json) inv.io.stderr.write('Relay stopped.\n');
    return { json: {}, text: '', printed: true };
  },
};

/** The `server` command group. */
export const serverCommands: readonly Command[] = [server];
