/**
 * A real relay for cross-package tests: `startServer` on 127.0.0.1, an ephemeral port and a
 * fresh data directory under the system temp dir, removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type StartServerOptions } from '@carnet/server';

/** A running relay and its data directory. */
export interface TestRelay {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Absolute path of the data directory (database, WAL, blobs). */
  dataDir: string;
  /** Stops the relay; keeps the data directory (tests may scan it). */
  stop(): Promise<void>;
  /** Stops the relay and deletes the data directory. */
  close(): Promise<void>;
}

/** Starts a relay with a temporary data directory; extra options go to `startServer`. */
export async function startTestRelay(
  options: Omit<StartServerOptions, 'dataDir' | 'port' | 'host'> = {},
): Promise<TestRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carnet-relay-'));
  const server = await startServer({
    log: () => {},
    ...options,
    dataDir,
    port: 0,
    host: '127.0.0.1',
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= server.close());
  return {
    url: server.url,
    dataDir: server.dataDir,
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
