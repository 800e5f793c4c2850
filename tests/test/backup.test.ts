/**
 * `carnet admin backup` under load: a relay on 127.0.0.1 keeps receiving records (notes and
 * documents, three writers, each in its own folder) while the backup runs. Every record
 * committed before the backup began must be served by a relay restored from it (`carnet admin
 * restore` into an empty directory), documents byte for byte; `carnet admin stats` reads the
 * live relay meanwhile.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@carnet/server';
import { CarnetClient, MemoryLocalStore } from '@carnet/shared/client';
import { oneJson, run } from '../../scripts/test/io-helpers';
import { startTestRelay, type TestRelay } from '../src/relay';
import { digestStream, generatedStream } from '../src/sdk-helpers';

const PASSWORD = 'backup under load';
const KiB = 1024;

let relay: TestRelay;
let restored: RunningServer | undefined;
let work = '';

beforeAll(async () => {
  relay = await startTestRelay();
  work = await mkdtemp(join(tmpdir(), 'carnet-backup-load-'));
});
afterAll(async () => {
  await restored?.close();
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A record a writer saw committed, and when relative to the backup. */
interface Written {
  folderId: string;
  recordId: string;
  title: string;
  sha256?: string;
  size?: number;
}

describe('online backup while the relay receives writes', () => {
  it('restores every record committed before the backup began', async () => {
    const dr = new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
    await dr.signUp({ userName: 'dr.backup', password: PASSWORD, role: 'practitioner' });
    const folders = await Promise.all(
      ['Anne', 'Basile', 'Chloé'].map(async (name) => (await dr.createFolder({ name })).folderId),
    );

    const committed: Written[] = [];
    let stop = false;
    let n = 0;
    const writer = async (folderId: string, w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const seq = n++;
        if (i % 3 === 0) {
          const size = 96 * KiB + seq;
          const doc = generatedStream(size, seq + 1);
          const s = await dr.addRecord(folderId, {
            kind: 'document',
            fileName: `scan-${w}-${i}.bin`,
            size,
            body: doc.body,
          });
          committed.push({
            folderId,
            recordId: s.recordId,
            title: s.title,
            sha256: await doc.sha256,
            size,
          });
        } else {
          const title = `note ${w}-${i}`;
          const s = await dr.addRecord(folderId, { kind: 'note', title, text: `text ${seq}` });
          committed.push({ folderId, recordId: s.recordId, title });
        }
      }
    };
    const writers = folders.map((f, w) => writer(f, w));

    // Let the writers fill the relay a little, then back it up while they go on.
    while (committed.length < 30) await new Promise((r) => setTimeout(r, 20));
    const before = [...committed];
    const out = join(work, 'relay.tar');
    const backup = await run(
      ['admin', 'backup', '--data', relay.dataDir, '--out', out, '--json'],
      {},
    );
    const during = committed.length - before.length;
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const stats = await run(['admin', 'stats', '--data', relay.dataDir, '--json'], {});
    expect(stats.code).toBe(0);
    stop = true;
    await Promise.all(writers);
    const manifest = oneJson(backup.stdout).backup as { blobs: number };
    expect(manifest.blobs).toBeGreaterThanOrEqual(before.filter((w) => w.sha256).length);
    expect(oneJson(stats.stdout).folders).toBe(3);
    // Writes went on while the backup ran (otherwise this test would prove little).
    expect(during).toBeGreaterThan(0);
    // And went on after it: the live relay has records the backup does not.
    expect(committed.length).toBeGreaterThan(before.length);

    const dataDir = join(work, 'restored');
    const restore = await run(['admin', 'restore', '--from', out, '--data', dataDir, '--json'], {});
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    restored = await startServer({ dataDir, port: 0, host: '127.0.0.1', log: () => {} });

    // A fresh device (no high-water marks newer than the backup) reads everything back.
    const reader = new CarnetClient({ relayUrl: restored.url, store: new MemoryLocalStore() });
    await reader.login({ userName: 'dr.backup', password: PASSWORD });
    expect((await reader.listFolders()).map((f) => f.folderId).sort()).toEqual([...folders].sort());
    for (const w of before) {
      const view = await reader.readRecord(w.folderId, w.recordId);
      expect(view.title).toBe(w.title);
      if (w.sha256 !== undefined) {
        const doc = await reader.openDocument(w.folderId, w.recordId);
        expect(await digestStream(doc.body)).toEqual({ sha256: w.sha256, size: w.size });
      }
    }
    // The relay's signing key came back too: receipts stay verifiable under the same key.
    const live = new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
    expect((await reader.deletion.relayKey()).key).toEqual((await live.deletion.relayKey()).key);
  });
});
