/**
 * `close()` must finish on its own: awaiting it with nothing else pending used to let Node exit
 * with code 13 before the database was closed, because the checkpoint worker was unref'd.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/start-and-close.ts', import.meta.url));

describe('shutdown', () => {
  it('close() completes and the process exits 0 with nothing else alive', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.stdout).toBe('closed\n');
    expect(run.status).toBe(0);
  });
});
