/**
 * `tsx server/src/main.ts [--data DIR] [--port N] [--host H]` — runs the relay until SIGTERM
 * or SIGINT, then shuts down cleanly (server, checkpointer, database).
 */
import { parseArgs } from 'node:util';
import { startServer } from './server';

const USAGE = 'usage: main.ts [--data DIR] [--port N] [--host H]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: './data' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port\n${USAGE}`);
  const server = await startServer({ dataDir: values.data, port, host: values.host });
  console.log(`carnet relay listening on ${server.url}`);
  console.log(`data directory: ${server.dataDir}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
