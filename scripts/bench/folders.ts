/**
 * Opening a practice: N folders (10,000; 1,000 with --quick). Per folder the client opens the
 * folder key sealed under its account key, one data key sealed under the folder key and the
 * patient's profile, and verifies the owner's manifest signature. The design target is well
 * under a second for 10,000 folders.
 *
 * Baselines measured in the same run: bare XChaCha20-Poly1305 decryptions of the same sizes
 * (what the envelopes cost beyond the cipher: HKDF, key commitment, AD), the signature
 * verifications alone, and the same with the verify key imported once (what a WebCrypto key
 * cache would save). Signatures go through WebCrypto; the run compares one-at-a-time,
 * overlapped (all promises issued, then awaited) and pipelined verification, the noble fallback
 * on a sample, and a returning client (`acceptManifest`), which skips re-verifying a manifest
 * identical to the one its high-water mark records. Tasks run interleaved, round after round,
 * and each figure notes its CPU time, because the benchmark machines are shared and noisy.
 */
import { concatBytes, lp, utf8 } from '@carnet/shared/core';
import {
  folderKeyCommitment,
  newFolderKey,
  openFolderKeyForAccount,
  openProfile,
  sealFolderKeyForAccount,
  sealProfile,
} from '@carnet/shared/core';
import { newId, type AccountId, type FolderId, type RecordId } from '@carnet/shared/core';
import {
  asKey,
  type AccountKey,
  type IdentityPrivateKey,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { checkAndAdvance, manifestMarkKey, MemoryHighWaterStore } from '@carnet/shared/core';
import {
  acceptManifest,
  MANIFEST_SIGNATURE_DOMAIN,
  manifestHash,
  recordListDigest,
  signManifest,
  verifyManifest,
} from '@carnet/shared/core';
import { xchacha20poly1305Open, xchacha20poly1305Seal } from '@carnet/shared/primitives';
import { ed25519Keygen, ed25519Verify } from '@carnet/shared/primitives';
import { setBackend } from '@carnet/shared/primitives';
import { randomBytes } from '@carnet/shared/primitives';
import { newDataKey, openDataKey, sealDataKey } from '@carnet/shared/core';
import { nowMs, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'folders';
/** Interleaved rounds of the full run. */
const ROUNDS = 3;
const EMPTY = new Uint8Array(0);

interface Fixture {
  folderId: FolderId;
  recordId: RecordId;
  epoch: number;
  sealedFk: Uint8Array;
  sealedDek: Uint8Array;
  sealedProfile: Uint8Array;
  manifest: Uint8Array;
}

interface Ctx {
  accountKey: AccountKey;
  ownerPub: IdentityPublicKey;
  folders: Fixture[];
  /** A returning client's marks: every manifest already verified once. */
  marks: MemoryHighWaterStore;
}

async function build(n: number): Promise<Ctx> {
  const accountKey = asKey<AccountKey>(randomBytes(32));
  const owner = await ed25519Keygen();
  const ownerSeed = asKey<IdentityPrivateKey>(owner.privateKey);
  const ownerId = newId<AccountId>();
  const folders: Fixture[] = [];
  for (let i = 0; i < n; i++) {
    const folderId = newId<FolderId>();
    const recordId = newId<RecordId>();
    const epoch = 1 + (i % 3);
    const fk = newFolderKey();
    const manifest = await signManifest(ownerSeed, {
      folderId,
      ownerId,
      seq: 1,
      epoch,
      prevManifestHash: new Uint8Array(32),
      recordListDigest: recordListDigest([{ recordId, version: 1, versionHash: randomBytes(32) }]),
      folderKeyCommitment: folderKeyCommitment(fk, folderId, epoch),
      members: [
        { accountId: ownerId, fingerprint: '12345 67890 12345 67890 12345 67890', role: 'owner' },
        {
          accountId: newId<AccountId>(),
          fingerprint: '09876 54321 09876 54321 09876 54321',
          role: 'patient',
        },
      ],
    });
    folders.push({
      folderId,
      recordId,
      epoch,
      sealedFk: sealFolderKeyForAccount(accountKey, fk, folderId, epoch),
      sealedDek: sealDataKey(fk, newDataKey(), { folderId, recordId, version: 1, epoch }),
      sealedProfile: sealProfile(
        fk,
        { name: `Patient ${i}`, birthDate: '1970-01-01', sex: 'unknown' },
        folderId,
        epoch,
      ),
      manifest,
    });
  }
  const marks = new MemoryHighWaterStore();
  for (const f of folders) {
    await checkAndAdvance(marks, manifestMarkKey(f.folderId), 1, manifestHash(f.manifest));
  }
  return { accountKey, ownerPub: asKey<IdentityPublicKey>(owner.publicKey), folders, marks };
}

type SigMode = 'overlapped' | 'sequential' | 'cached' | 'pipelined';

/** Folders per batch in the pipelined mode. */
const BATCH = 128;

/**
 * Pipelined opening: the signatures of batch i are handed to WebCrypto (which runs them on
 * libuv's thread pool) before the main thread does the symmetric work of batch i, and the
 * event loop gets a turn between batches so finished imports can start their verifications.
 */
async function openPipelined(c: Ctx): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let start = 0; start < c.folders.length; start += BATCH) {
    const batch = c.folders.slice(start, start + BATCH);
    for (const f of batch)
      pending.push(verifyManifest(c.ownerPub, f.manifest, { folderId: f.folderId }));
    await new Promise<void>((resolve) => setImmediate(resolve));
    symmetricOnly({ ...c, folders: batch });
  }
  await Promise.all(pending);
}

/** Opens every folder; throws if anything fails to open or verify. */
async function openAll(c: Ctx, mode: SigMode): Promise<void> {
  if (mode === 'pipelined') return openPipelined(c);
  const pending: Promise<unknown>[] = [];
  for (const f of c.folders) {
    const fk = openFolderKeyForAccount(c.accountKey, f.sealedFk, f.folderId, f.epoch);
    openDataKey(fk, f.sealedDek, {
      folderId: f.folderId,
      recordId: f.recordId,
      version: 1,
      epoch: f.epoch,
    });
    openProfile(fk, f.sealedProfile, f.folderId, f.epoch);
    const v =
      mode === 'cached'
        ? acceptManifest(c.marks, c.ownerPub, f.manifest, { folderId: f.folderId })
        : verifyManifest(c.ownerPub, f.manifest, { folderId: f.folderId });
    if (mode === 'sequential') await v;
    else pending.push(v);
  }
  await Promise.all(pending);
}

function symmetricOnly(c: Ctx): void {
  for (const f of c.folders) {
    const fk = openFolderKeyForAccount(c.accountKey, f.sealedFk, f.folderId, f.epoch);
    openDataKey(fk, f.sealedDek, {
      folderId: f.folderId,
      recordId: f.recordId,
      version: 1,
      epoch: f.epoch,
    });
    openProfile(fk, f.sealedProfile, f.folderId, f.epoch);
  }
}

/** Same plaintext sizes as the three envelopes (32, 32, 256 bytes), bare XChaCha20-Poly1305. */
function buildRaw(n: number): { key: Uint8Array; nonce: Uint8Array; ct: Uint8Array }[] {
  const out: { key: Uint8Array; nonce: Uint8Array; ct: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    for (const size of [32, 32, 256]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      out.push({ key, nonce, ct: xchacha20poly1305Seal(key, nonce, randomBytes(size), EMPTY) });
    }
  }
  return out;
}

/** WebCrypto with the owner's key imported once, as a verify-key cache would do. */
async function signaturesImportedOnce(
  c: Ctx,
  tbs: { msg: Uint8Array; sig: Uint8Array }[],
): Promise<void> {
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.importKey(
    'raw',
    new Uint8Array(c.ownerPub),
    { name: 'Ed25519' },
    false,
    ['verify'],
  );
  const ok = await Promise.all(
    tbs.map((t) =>
      subtle.verify({ name: 'Ed25519' }, key, new Uint8Array(t.sig), new Uint8Array(t.msg)),
    ),
  );
  if (!ok.every(Boolean)) throw new Error('signature baseline failed');
}

async function signaturesOnly(c: Ctx, tbs: { msg: Uint8Array; sig: Uint8Array }[]): Promise<void> {
  const ok = await Promise.all(tbs.map((t) => ed25519Verify(c.ownerPub, t.msg, t.sig)));
  if (!ok.every(Boolean)) throw new Error('signature baseline failed');
}

/** A measured task: its name and the work, run once per round. */
type Task = [name: string, fn: () => Promise<void> | void];

/** Wall-clock and CPU milliseconds (all threads of the process, WebCrypto's pool included). */
interface Sample {
  wall: number;
  cpu: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs every task once per round, in the same order, for `rounds` rounds: on a shared, noisy
 * machine each task then sees the same spread of load, and ratios taken within one round
 * cancel most of it. CPU time is recorded too: unlike wall-clock time it does not grow when
 * other processes take the cores.
 */
async function interleave(tasks: Task[], rounds: number): Promise<Map<string, Sample[]>> {
  const times = new Map<string, Sample[]>(tasks.map(([name]) => [name, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of tasks) {
      const w0 = nowMs();
      const c0 = cpuMs();
      await fn();
      times.get(name)!.push({ wall: nowMs() - w0, cpu: cpuMs() - c0 });
    }
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median over rounds of `a[i] / (b1[i] + b2[i] + …)`, wall-clock. */
function ratio(times: Map<string, Sample[]>, a: string, ...b: string[]): number {
  const xa = times.get(a)!;
  return median(xa.map((x, i) => x.wall / b.reduce((sum, k) => sum + times.get(k)![i]!.wall, 0)));
}

/** Runs the benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const n = o.quick ? 1_000 : 10_000;
  const rounds = o.quick ? 5 : ROUNDS;
  const note = `${n} folders, median of ${rounds} interleaved rounds`;
  const c = await build(n);
  // The exact message each manifest signature covers, for the signature-only baseline.
  const sigs = c.folders.map((f) => ({
    msg: concatBytes(
      lp(utf8(MANIFEST_SIGNATURE_DOMAIN)),
      f.manifest.subarray(0, f.manifest.length - 64),
    ),
    sig: f.manifest.subarray(f.manifest.length - 64),
  }));
  const raw = buildRaw(n);

  // Warm-up: JIT, WebCrypto key import paths, noble tables.
  await openAll({ ...c, folders: c.folders.slice(0, 300) }, 'overlapped');
  symmetricOnly(c);

  const OVERLAPPED = 'open all (signatures overlapped)';
  const SEQUENTIAL = 'open all (signatures one at a time)';
  const PIPELINED = `open all (pipelined, batches of ${BATCH})`;
  const RETURNING = 'open all, returning client (acceptManifest)';
  const SYMMETRIC = 'symmetric part (3 envelopes per folder)';
  const RAW = 'baseline: bare XChaCha20-Poly1305, 3/folder';
  const SIGS = 'baseline: manifest signatures alone';
  const SIGS_ONCE = 'baseline: signatures, key imported once';
  const times = await interleave(
    [
      [OVERLAPPED, () => openAll(c, 'overlapped')],
      [SEQUENTIAL, () => openAll(c, 'sequential')],
      [PIPELINED, () => openAll(c, 'pipelined')],
      [RETURNING, () => openAll(c, 'cached')],
      [SYMMETRIC, () => symmetricOnly(c)],
      [
        RAW,
        () => {
          for (const x of raw) xchacha20poly1305Open(x.key, x.nonce, x.ct, EMPTY);
        },
      ],
      [SIGS, () => signaturesOnly(c, sigs)],
      [SIGS_ONCE, () => signaturesImportedOnce(c, sigs)],
    ],
    rounds,
  );

  const wall = (k: string): number => median(times.get(k)!.map((x) => x.wall));
  const cpu = (k: string): number => median(times.get(k)!.map((x) => x.cpu));
  const add = (metric: string, ratioLabel?: string, ...ratioTo: string[]): void =>
    r.add({
      bench: BENCH,
      metric,
      value: wall(metric),
      unit: 'ms',
      note: `${note}; CPU ${cpu(metric).toFixed(0)} ms`,
      ...(ratioLabel ? { ratio_to: ratioLabel, ratio: ratio(times, metric, ...ratioTo) } : {}),
    });
  add(SEQUENTIAL, 'signatures alone + symmetric part', SIGS, SYMMETRIC);
  add(OVERLAPPED, 'one at a time', SEQUENTIAL);
  add(PIPELINED, 'one at a time', SEQUENTIAL);
  add(RETURNING, 'symmetric part', SYMMETRIC);
  add(SYMMETRIC, 'bare XChaCha20-Poly1305', RAW);
  add(RAW);
  add(SIGS, 'symmetric part', SYMMETRIC);
  add(SIGS_ONCE, 'signatures alone', SIGS);
  const best = Math.min(wall(OVERLAPPED), wall(SEQUENTIAL), wall(PIPELINED));
  r.add({
    bench: BENCH,
    metric: 'first open (best mode), per folder',
    value: (best * 1000) / n,
    unit: 'µs',
  });
  r.add({
    bench: BENCH,
    metric: 'first open (best mode), per 10,000 folders',
    value: (best * 10_000) / n,
    unit: 'ms',
    note: 'target ≤ 1000',
  });
  r.add({
    bench: BENCH,
    metric: 'returning client, per 10,000 folders',
    value: (wall(RETURNING) * 10_000) / n,
    unit: 'ms',
    note: 'target ≤ 1000',
  });

  // The pure-JS fallback on a sample, to show what platforms without WebCrypto Ed25519 pay.
  const sample = o.quick ? 100 : 300;
  const small = { ...c, folders: c.folders.slice(0, sample) };
  setBackend('noble');
  let nobleTimes: Map<string, Sample[]>;
  try {
    nobleTimes = await interleave([['noble', () => openAll(small, 'sequential')]], 3);
  } finally {
    setBackend('auto');
  }
  const webTimes = await interleave([['webcrypto', () => openAll(small, 'sequential')]], 3);
  const nobleMs = median(nobleTimes.get('noble')!.map((x) => x.wall));
  r.add({
    bench: BENCH,
    metric: 'open one folder (noble Ed25519 fallback)',
    value: (nobleMs * 1000) / sample,
    unit: 'µs',
    note: `${sample} folders, one at a time`,
    ratio_to: 'WebCrypto, same folders',
    ratio: nobleMs / median(webTimes.get('webcrypto')!.map((x) => x.wall)),
  });
}
