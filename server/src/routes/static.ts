/**
 * The built web app (`web/dist`), served with the same security headers as the API. Paths
 * without an extension fall back to `index.html` (client-side routing). Without a build, a
 * short page explains how to get one or how to use the CLI.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { Hono } from 'hono';
import { webStream } from '../http/stream';
import type { AppEnv } from '../http/types';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Shown when there is no build. No inline script or style: the CSP forbids both. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Carnet relay</title></head>
<body><h1>Carnet relay</h1>
<p>The relay is running, but the web app is not built: this version of Carnet is used through
its command-line client, <code>npx pnpm@10.34.9 carnet help</code> (see README.md).</p>
<p>The API is under <code>/api/v1</code>.</p>
</body></html>
`;

/** Resolves a request path inside `root`, or undefined if it escapes it or is not a file. */
function fileFor(root: string, path: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (rel.includes('\0')) return undefined;
  const full = resolve(root, `.${rel}`);
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    return statSync(full).isFile() ? full : undefined;
  } catch {
    return undefined;
  }
}

/** Sub-app factory for everything outside `/api`. `webDir` null or missing: fallback page. */
export function staticRoutes(webDir: string | null): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const root = webDir === null ? null : resolve(webDir);
  const built = root !== null && existsSync(join(root, 'index.html'));

  app.get('*', (c) => {
    if (!built || root === null) return c.html(NOT_BUILT_PAGE);
    const path = c.req.path === '/' ? '/index.html' : c.req.path;
    let file = fileFor(root, path);
    if (!file && extname(path) === '') file = join(root, 'index.html');
    if (!file) return c.text('not found', 404);
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    c.header('Content-Type', type);
    c.header('Content-Length', String(statSync(file).size));
    // Hashed asset names can be cached; index.html must be revalidated to pick up new builds.
    c.header('Cache-Control', file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600');
    if (c.req.method === 'HEAD') return c.body(null);
    return c.body(webStream(createReadStream(file)));
  });

  return app;
}
