/**
 * A minimal static server on 127.0.0.1 for browser tests: serves in-memory files, with the
 * cross-origin isolation headers the real app uses. Loopback only; closes with the test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Files by URL path, e.g. `{ '/': html, '/bundle.js': js }`. */
export type StaticFiles = Record<string, { body: string | Uint8Array; type: string }>;

/** Serves `files` on an ephemeral loopback port. */
export async function serveStatic(
  files: StaticFiles,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': file.type,
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'",
      'Cache-Control': 'no-store',
    });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
