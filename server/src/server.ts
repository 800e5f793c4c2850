/**
 * Running the relay on a port: open the data directory, serve the app with
 * `@hono/node-server`, checkpoint the WAL from a worker, run maintenance on a timer, and shut
 * everything down in order on `close()`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { createRelay, type CreateAppOptions } from './app';
import { startCheckpointer } from './db/checkpointer';
import { openDatabase } from './db/open';
import { DB_FILE } from './relay';

/** Options of {@link startServer}. */
export interface StartServerOptions extends Omit<CreateAppOptions, 'db' | 'dataDir'> {
  /** Data directory; default `./data`. */
  dataDir?: string;
  /** Port; default 8080, 0 for any free port. */
  port?: number;
  /** Interface; default 127.0.0.1. */
  host?: string;
  /** Maintenance interval, ms; default one minute. */
  maintenanceIntervalMs?: number;
}

/** A listening relay. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** Stops accepting, finishes in-flight requests (up to 5 s), closes the database. */
  close(): Promise<void>;
}

/** Where the web app's build lands, relative to this package. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Starts the relay. */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const { port = 8080, host = '127.0.0.1', maintenanceIntervalMs = 60_000, ...rest } = options;
  const dataDir = resolve(options.dataDir ?? './data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = rest.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const instance = createRelay({
    webDir: existsSync(DEFAULT_WEB_DIR) ? DEFAULT_WEB_DIR : null,
    ...rest,
    dataDir,
    log,
    db: openDatabase(join(dataDir, DB_FILE)),
  });
  const { relay } = instance;
  const checkpointer = startCheckpointer(join(dataDir, DB_FILE), 1000, (m) =>
    log(`checkpointer: ${m}`),
  );

  const server = serve({
    fetch: instance.app.fetch,
    // The adapter's lightweight global Response loses headers when Hono turns a HEAD into a
    // GET without body: security headers must be on every response, HEAD included.
    overrideGlobalObjects: false,
    port,
    hostname: host,
    serverOptions: {
      // Large uploads on slow links need time; a slow-headers client does not.
      requestTimeout: 60 * 60_000,
      headersTimeout: 30_000,
      keepAliveTimeout: 5_000,
    },
  });
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    instance
      .maintain()
      .catch((e: unknown) => log(`maintenance failed: ${e instanceof Error ? e.name : 'error'}`))
      .finally(() => (busy = false));
  }, maintenanceIntervalMs);
  timer.unref();

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      clearInterval(timer);
      await new Promise<void>((done) => {
        server.close(() => done());
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        // In-flight requests get a grace period, then their connections are cut.
        setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, 5_000).unref();
      });
      await checkpointer.stop();
      instance.close();
      relay.db.close();
    })());

  return { url: `http://${shownHost}:${addr.port}`, dataDir, close };
}
