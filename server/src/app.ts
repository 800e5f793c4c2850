/**
 * Assembles the relay: global middleware (security headers, request log, errors), the API
 * under `/api/v1` with one sub-app per resource, and the static web app.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { openDatabase, type Db } from './db/open';
import { ApiError, errorResponse, makeErrorHandler, notFound } from './http/errors';
import { appCors, csrfGuard, requestLogger, securityHeaders } from './http/security';
import type { AppEnv } from './http/types';
import { runMaintenance, type MaintenanceReport } from './maintenance';
import { createRelayState, DB_FILE, type Relay, type RelayOptions } from './relay';
import { accountRoutes } from './routes/accounts';
import { auditRoutes } from './routes/audit';
import { grantRoutes } from './routes/grants';
import { importRoutes } from './routes/imports';
import { relayInfoRoutes } from './routes/relay-info';
import { rotationRoutes } from './routes/rotations';
import { blobRoutes } from './routes/blobs';
import { directoryRoutes } from './routes/directory';
import { folderRoutes } from './routes/folders';
import { inviteRoutes } from './routes/invites';
import { staticRoutes } from './routes/static';

/** Options of {@link createApp}: relay options, with the database opened for you if omitted. */
export interface CreateAppOptions extends Omit<RelayOptions, 'db'> {
  /** An open database; by default `<dataDir>/carnet.db` is opened (and closed by `close`). */
  db?: Db;
}

/** A relay instance: the Hono app plus what tests and the server need around it. */
export interface RelayInstance {
  app: Hono<AppEnv>;
  relay: Relay;
  /** Deletes expired sessions and invites and stale unattached blobs. */
  maintain(): Promise<MaintenanceReport>;
  /** Stops answering (503) and closes the database if this instance opened it. */
  close(): void;
}

/** Creates a relay over `options.dataDir`. */
export function createRelay(options: CreateAppOptions): RelayInstance {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const ownsDb = options.db === undefined;
  const db = options.db ?? openDatabase(join(options.dataDir, DB_FILE));
  const relay = createRelayState({ ...options, db });
  const state = { closing: false };
  const app = buildApp(relay, state);
  return {
    app,
    relay,
    maintain: () => runMaintenance(relay),
    close: () => {
      state.closing = true;
      if (ownsDb && db.open) db.close();
    },
  };
}

/** Creates the relay's Hono app (see {@link createRelay} to also get maintenance and close). */
export function createApp(options: CreateAppOptions): Hono<AppEnv> {
  return createRelay(options).app;
}

function buildApp(relay: Relay, state: { closing: boolean }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { origins } = relay.config;
  app.use('*', securityHeaders());
  app.use('*', requestLogger(relay.log, relay.now));
  app.onError(
    makeErrorHandler((e) => {
      // Name and errno code only: messages of file-system errors carry blob paths, i.e. ids.
      const err = e instanceof Error ? e : new Error(String(e));
      const code = (err as { code?: unknown }).code;
      relay.log(`internal error: ${err.name}${typeof code === 'string' ? ` (${code})` : ''}`);
    }),
  );
  app.notFound((c) => errorResponse(c, notFound('no such route')));

  const api = new Hono<AppEnv>();
  api.use('*', async (_c, next) => {
    if (state.closing) throw new ApiError('UNAVAILABLE', 'the relay is shutting down');
    await next();
  });
  api.use('*', appCors(origins));
  api.use('*', csrfGuard(origins));
  api.get('/health', (c) => c.json({ ok: true }));
  api.route('/', accountRoutes(relay));
  api.route('/directory', directoryRoutes(relay));
  api.route('/folders', folderRoutes(relay));
  api.route('/blobs', blobRoutes(relay));
  api.route('/invites', inviteRoutes(relay));
  api.route('/grants', grantRoutes(relay));
  api.route('/imports', importRoutes(relay));
  api.route('/rotations', rotationRoutes(relay));
  api.route('/', auditRoutes(relay));
  api.route('/relay', relayInfoRoutes(relay));
  api.all('*', () => {
    throw notFound('no such route');
  });

  app.route('/api/v1', api);
  app.all('/api/*', () => {
    throw notFound('no such route');
  });
  app.route('/', staticRoutes(relay.config.webDir));
  return app;
}
