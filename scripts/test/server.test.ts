import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneJson, run } from './io-helpers';

let data = '';
beforeAll(async () => {
  data = await mkdtemp(join(tmpdir(), 'carnet-server-cmd-'));
});
afterAll(() => rm(data, { recursive: true, force: true }));

// The stop signal comes at once: the relay starts, announces itself and shuts down.
const stopNow = { waitForStop: () => Promise.resolve('SIGTERM') };

describe('carnet server', () => {
  it('prints exactly one JSON object with --json, and creates its data directory', async () => {
    const dir = join(data, 'json');
    const r = await run(['server', '--data', dir, '--port', '0', '--json'], {}, stopNow);
    expect(r.code).toBe(0);
    const out = oneJson(r.stdout) as { server: { url: string; dataDir: string } };
    expect(out.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out.server.dataDir).toBe(dir);
    expect(await readdir(dir)).toContain('carnet.db');
  });

  it('says where it listens and where its data is, then how it stopped', async () => {
    const dir = join(data, 'human');
    const r = await run(['server', '--data', dir, '--port', '0'], {}, stopNow);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^Carnet relay listening on http://127\\.0\\.0\\.1:\\d+\\nData directory: ${dir}\\nStop with Ctrl-C\\.\\n$`,
      ),
    );
    expect(r.stderr).toBe('Received SIGTERM, stopping the relay…\nRelay stopped.\n');
  });

  it('refuses a bad host before starting', async () => {
    const r = await run(
      ['server', '--data', join(data, 'x'), '--host', 'a b', '--json'],
      {},
      stopNow,
    );
    expect(r.code).toBe(1);
    expect(oneJson(r.stdout)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
  });
});
