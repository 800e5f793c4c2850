/** Bundles a browser test entry with esbuild, in memory, for Chromium. */
import { build } from 'esbuild';

/** Bundles `entry` (ESM, browser platform) and returns the JavaScript text. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: false,
    logLevel: 'silent',
    // Node built-ins must never reach the browser bundle: fail the build if one is imported.
    external: [],
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
