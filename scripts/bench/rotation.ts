/**
 * Rotating the folders of a support grant when it ends: 1,000 folders (100 with --quick), each
 * with the practitioner, a colleague, a patient profile and one record, covered by one read
 * grant. The grant is revoked and `client.grants.revoke()` timed: one revocation request, then
 * `rotateEnded()`, what the practitioner's next login runs after a grant expired. The signed
 * version objects and manifests of 200 folders come in one request (`POST /rotations/records`);
 * for every folder they are verified (the record-list digest goes into the new manifest), a fresh folder key is
 * wrapped to both members, the old key sealed under it, the profile re-sealed and the manifest
 * signed; then everything is sent through `POST /rotations`, 200 folders per transaction.
 * Target: ≤ 2 s for 1,000 folders (issue 4).
 *
 * Baselines in the same run: on the same folders, the per-folder rotation the SDK already did
 * before batching — `removeMember` of the colleague, one folder after another (new epoch,
 * wraps, lineage, manifest and profile, each folder its own requests and transactions); and
 * the new-epoch cryptography alone for as many folders (what no implementation can avoid).
 * Rounds alternate them (the colleague is shared again between rounds, untimed).
 *
 * The relay runs in a child process on 127.0.0.1 with a real data directory (SQLite in WAL
 * mode, synchronous FULL), as `npm start` runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CarnetClient, MemoryLocalStore } from '@carnet/shared/client';
import {
  folderKeyCommitment,
  generateAccountKeys,
  newFolderKey,
  newId,
  sealLineage,
  sealProfile,
  signManifest,
  wrapFolderKeyToMember,
  type AccountId,
  type AccountSecrets,
  type FolderId,
  type ManifestMember,
} from '@carnet/shared/core';
import { nowMs, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'rotation';
const MINUTE = 60_000;
const RELAY_MAIN = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));
/** Folders created and shared at once during the (untimed) setup. */
const SETUP_CONCURRENCY = 4;
/** Folders prepared at once in the cryptography-only floor (as the SDK's rotation does). */
const FLOOR_CONCURRENCY = 8;

interface Sample {
  wall: number;
  cpu: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `fn` once, timed (wall and CPU of the whole process, ms). */
async function timed(fn: () => Promise<unknown>): Promise<Sample> {
  const w0 = nowMs();
  const c0 = cpuMs();
  await fn();
  return { wall: nowMs() - w0, cpu: cpuMs() - c0 };
}

/** Maps `items` through `f`, at most `n` at a time, keeping the order. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * The cryptography of `n` new epochs and nothing else (no request, no verification of what is
 * there): per folder, a fresh key wrapped to two members, the lineage link, the commitment,
 * the re-sealed profile and the signed manifest.
 */
async function newEpochCrypto(keys: AccountSecrets, n: number): Promise<void> {
  const ownerId = newId<AccountId>();
  const members: ManifestMember[] = [
    { accountId: ownerId, fingerprint: '1', role: 'owner' },
    { accountId: newId<AccountId>(), fingerprint: '2', role: 'practitioner' },
  ];
  const indexes = Array.from({ length: n }, (_, i) => i);
  await pool(indexes, FLOOR_CONCURRENCY, async () => {
    const folderId = newId<FolderId>();
    const fk = newFolderKey();
    for (const m of members) {
      await wrapFolderKeyToMember(keys.encryptionPublicKey, fk, {
        folderId,
        epoch: 2,
        accountId: m.accountId,
      });
    }
    sealLineage(fk, newFolderKey(), folderId, 2);
    const commitment = folderKeyCommitment(fk, folderId, 2);
    sealProfile(fk, { name: 'Patient', birthDate: '1980-01-01' }, folderId, 2);
    await signManifest(keys.identityPrivateKey, {
      folderId,
      ownerId,
      seq: 5,
      epoch: 2,
      prevManifestHash: new Uint8Array(32).fill(1),
      recordListDigest: new Uint8Array(32),
      folderKeyCommitment: commitment,
      members,
    });
  });
}

/** Spawns the relay in a child process; resolves once it prints "listening on <url>". */
function spawnRelay(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', RELAY_MAIN, '--data', dataDir, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let found = false;
    child.stdout.on('data', (d: Buffer) => {
      // Keep draining (the relay logs one line per request), but only read the start.
      if (found) return;
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        found = true;
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.once('exit', (code) => {
      if (!found) reject(new Error(`relay exited (${code}) before listening:\n${out}`));
    });
  });
}

async function stopRelay(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Runs the benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const n = o.quick ? 100 : 1000;
  const rounds = o.quick ? 1 : 2;
  const dataDir = mkdtempSync(join(tmpdir(), 'carnet-bench-rotation-'));
  const relay = await spawnRelay(dataDir);
  try {
    const client = (): CarnetClient =>
      new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
    const dr = client();
    await dr.signUp({ userName: 'bench.dr', password: 'bench dr password', role: 'practitioner' });
    const col = await client().signUp({
      userName: 'bench.colleague',
      password: 'bench colleague password',
      role: 'practitioner',
    });
    const agent = await client().signUp({
      userName: 'bench.agent',
      password: 'bench agent password',
      role: 'support',
    });
    const setup0 = nowMs();
    const indexes = Array.from({ length: n }, (_, i) => i);
    const folders = await pool(indexes, SETUP_CONCURRENCY, async (i) => {
      const f = await dr.createFolder({ name: `Patient ${i}`, birthDate: '1980-01-01' });
      await dr.addRecord(f.folderId, { kind: 'note', title: 'Consultation', text: `Note ${i}` });
      return f.folderId;
    });
    const share = async (): Promise<void> => {
      await pool(folders, SETUP_CONCURRENCY, (f) =>
        dr.shareFolder(f, { userName: 'bench.colleague', safetyCode: col.account.safetyCode }),
      );
    };
    await share();
    console.log(`setup: ${n} folders in ${((nowMs() - setup0) / 1000).toFixed(1)} s`);

    const batched: Sample[] = [];
    const perFolder: Sample[] = [];
    const floor: Sample[] = [];
    const keys = await generateAccountKeys();
    for (let round = 0; round < rounds; round++) {
      // A read grant over every folder (untimed), then its end: revoked, which rotates at once
      // (the same `rotateEnded` a login runs, after one revocation request).
      const g = await dr.grants.create({
        agent: 'bench.agent',
        safetyCode: agent.account.safetyCode,
        folders,
        rights: 'read',
        durationMs: 10 * MINUTE,
        reason: `bench round ${round}`,
      });
      let rotated = 0;
      batched.push(
        await timed(async () => {
          rotated = (await dr.grants.revoke(g.grantId)).rotated.length;
        }),
      );
      if (rotated !== n) throw new Error(`rotated ${rotated} folders, expected ${n}`);
      floor.push(await timed(() => newEpochCrypto(keys, n)));
      perFolder.push(
        await timed(async () => {
          for (const f of folders) await dr.removeMember(f, col.account.accountId);
        }),
      );
      if (round + 1 < rounds) await share();
    }

    const wall = (xs: Sample[]): number => median(xs.map((x) => x.wall));
    const cpu = (xs: Sample[]): string => `CPU ${median(xs.map((x) => x.cpu)).toFixed(0)} ms`;
    const over = (a: Sample[], b: Sample[]): number => median(a.map((x, i) => x.wall / b[i]!.wall));
    const note = `${n} folders × 2 members, 1 record; relay in a child process; ${rounds} round(s)`;
    r.add({
      bench: BENCH,
      metric: `rotate ${n} folders after a grant ends`,
      value: wall(batched),
      unit: 'ms',
      note: `${note}; ${cpu(batched)}`,
      ratio_to: 'per-folder rotation (removeMember loop)',
      ratio: over(batched, perFolder),
    });
    r.add({
      bench: BENCH,
      metric: `per-folder rotation of ${n} folders (baseline)`,
      value: wall(perFolder),
      unit: 'ms',
      note: `${note}; ${cpu(perFolder)}`,
    });
    r.add({
      bench: BENCH,
      metric: `new-epoch cryptography alone, ${n} folders`,
      value: wall(floor),
      unit: 'ms',
      note: `2 HPKE wraps, lineage, commitment, profile, signature per folder; ${cpu(floor)}`,
    });
    r.add({
      bench: BENCH,
      metric: `rotate ${n} folders, vs cryptography alone`,
      value: wall(batched),
      unit: 'ms',
      ratio_to: 'new-epoch cryptography alone',
      ratio: over(batched, floor),
    });
    r.add({
      bench: BENCH,
      metric: 'rotate after a grant ends, per 1,000 folders',
      value: (wall(batched) * 1000) / n,
      unit: 'ms',
      note: 'target ≤ 2000',
    });
  } finally {
    await stopRelay(relay.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
