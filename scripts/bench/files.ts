/**
 * Large files: Carnet's file stream (shared/src/stream) against the raw WebCrypto AES-256-GCM
 * ceiling over the same chunking, and against two streaming peers — typage (age-encryption,
 * X25519 recipient, ChaCha20-Poly1305 in pure JS) and Tanker (@tanker/crypto
 * EncryptionStreamV8: padded, chunked XChaCha20-Poly1305 in libsodium) — in one process, side
 * by side, on 64 MiB and 1 GiB (`--quick`: 64 MiB only).
 *
 * - Plaintext is generated from one reused 1 MiB buffer and never held whole. Encryption is
 *   timed into a sink that drops the bytes.
 * - Decryption needs a real ciphertext: an untimed pass of each implementation's own encryptor
 *   keeps its output chunks in memory, and the timed decryption reads them from there, so the
 *   source costs nothing. (Reading a file back costs more than Carnet's decryption on these
 *   VMs: 1 MiB reads from the page cache ran at ~1.4 GB/s.)
 * - Memory is measured apart, in a fresh child process per figure (`memoryProbe`): after a
 *   warm-up, 1 GiB (64 MiB with --quick) is encrypted into a dropping sink, decrypted from
 *   memory, or piped through the encryptor straight into the decryptor; the figure is VmHWM
 *   minus the RSS before. In-process figures would be blurred by memory that glibc kept from
 *   earlier runs.
 * - glibc's allocator matters (WebCrypto returns a fresh buffer per chunk; memory touched for
 *   the first time is slow on these VMs), so every figure notes the MALLOC_* settings in force.
 *
 * Also measured, because they chose the design: the incremental SHA-256 implementations (the
 * content digest) and pure-JS ChaCha20-Poly1305 against WebCrypto AES-GCM.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import {
  DecryptionStream,
  EncryptionStreamV8,
  random as tankerRandom,
  ready as tankerReady,
} from '@tanker/crypto';
import { equalBytes } from '../../shared/src/bytes';
import type { FolderId, RecordId } from '../../shared/src/ids';
import type { DataKey } from '../../shared/src/keys';
import { chacha20poly1305Seal } from '../../shared/src/primitives/aead';
import { createSha256 } from '../../shared/src/stream/digest';
import type { ContentHasher } from '../../shared/src/stream/digest';
import { createWorkerSha256, hashWorkerReady } from '../../shared/src/stream/digest-worker';
import { createFileDecryptor, createFileEncryptor } from '../../shared/src/stream/index';
import type { FileStreamContext } from '../../shared/src/stream/index';
import { PIPELINE_DEPTH } from '../../shared/src/stream/pipeline';
import { nowMs, rssMiB, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'files';
const MiB = 2 ** 20;
const KiB = 1024;
const GiB = 2 ** 30;
const SLICE = MiB;
const KEY = new Uint8Array(32).map((_, i) => i * 3 + 1) as DataKey;
const CTX: FileStreamContext = {
  folderId: 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId,
  recordId: 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId,
  version: 1,
};
/** The plaintext: one pseudo-random MiB, repeated. */
const SLICE_BYTES = new Uint8Array(SLICE).map((_, i) => (i * 2654435761) >>> 24);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const sizeLabel = (n: number): string => (n >= GiB ? `${n / GiB} GiB` : `${n / MiB} MiB`);
const chunkLabel = (n: number): string => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** The glibc allocator settings in force, for every figure's note. */
function allocatorNote(): string {
  const names = [
    'MALLOC_ARENA_MAX',
    'MALLOC_MMAP_THRESHOLD_',
    'MALLOC_TRIM_THRESHOLD_',
    'MALLOC_TOP_PAD_',
  ];
  const set = names
    .filter((n) => process.env[n] !== undefined)
    .map((n) => `${n}=${process.env[n]}`);
  return set.length === 0 ? 'glibc defaults' : set.join(' ');
}

// ---------------------------------------------------------------------------------------------
// Sources, sinks, measurement.

/** `total` bytes of plaintext as a web stream of views of one reused buffer. */
function generated(total: number): ReadableStream<Uint8Array> {
  let left = total;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (left === 0) return c.close();
        const n = Math.min(left, SLICE);
        left -= n;
        c.enqueue(SLICE_BYTES.subarray(0, n));
      },
    },
    { highWaterMark: 0 },
  );
}

/** The same plaintext as a Node stream (for Tanker's Node-style transforms). */
function generatedNode(total: number): Readable {
  return Readable.from(
    (function* () {
      for (let left = total; left > 0; left -= SLICE)
        yield SLICE_BYTES.subarray(0, Math.min(left, SLICE));
    })(),
  );
}

/** A ciphertext kept as the chunks its encryptor produced, replayed as a web stream. */
function replay(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        const chunk = chunks[i++];
        if (chunk === undefined) c.close();
        else c.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A sink that counts and drops. */
function webSink(counter = { bytes: 0 }): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write(chunk) {
      counter.bytes += chunk.length;
    },
  });
}

function nodeSink(counter = { bytes: 0 }, keep?: Uint8Array[]): Writable {
  return new Writable({
    objectMode: true,
    write(chunk: Uint8Array, _enc, cb) {
      counter.bytes += chunk.length;
      keep?.push(chunk);
      cb();
    },
  });
}

async function keepAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  await stream.pipeTo(new WritableStream({ write: (c) => void chunks.push(c) }));
  return chunks;
}

/** Resets the kernel's RSS high-water mark (Linux), so VmHWM covers one measurement only. */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux or not allowed: the sampled maximum still bounds the peak from below.
  }
}

function vmHwmMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Main-thread CPU time in ms (Linux: /proc/self/task/<pid>/stat, in clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
      .split(') ')[1]!
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const processCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Measured {
  mbps: number;
  growthMiB: number;
  /** Process CPU time (all threads) per MiB: what the work costs, whoever else is running. */
  cpuMsPerMiB: number;
  /** Main-thread CPU time per MiB: the part that cannot run in parallel. */
  mainMsPerMiB: number;
}

/**
 * Times `body` over `bytes` bytes. RSS growth is VmHWM (or a 5 ms sampler) minus RSS before;
 * CPU times come along because wall-clock figures on a shared VM move with the neighbours' load.
 */
async function measure(bytes: number, body: () => Promise<void>): Promise<Measured> {
  gc();
  resetPeak();
  const before = rssMiB();
  let sampled = before;
  const timer = setInterval(() => (sampled = Math.max(sampled, rssMiB())), 5);
  const cpu0 = processCpuMs();
  const main0 = mainThreadCpuMs();
  const t0 = nowMs();
  try {
    await body();
  } finally {
    clearInterval(timer);
  }
  const ms = nowMs() - t0;
  const mib = bytes / MiB;
  const peak = Math.max(vmHwmMiB(), sampled, rssMiB());
  return {
    mbps: bytes / 1e6 / (ms / 1e3),
    growthMiB: peak - before,
    cpuMsPerMiB: (processCpuMs() - cpu0) / mib,
    mainMsPerMiB: (mainThreadCpuMs() - main0) / mib,
  };
}

function median(xs: Measured[]): Measured {
  return [...xs].sort((a, b) => a.mbps - b.mbps)[Math.floor(xs.length / 2)]!;
}

const cpuNote = (m: Measured): string =>
  `CPU ${m.cpuMsPerMiB.toFixed(2)} ms/MiB (main thread ${m.mainMsPerMiB.toFixed(2)})`;

// ---------------------------------------------------------------------------------------------
// The contenders. Each returns encrypt and decrypt figures.

interface Result {
  encrypt: Measured;
  decrypt: Measured;
}

/** Raw WebCrypto AES-256-GCM over `chunk`-byte chunks, as many in flight as Carnet keeps. */
async function rawAesGcm(total: number, chunk: number, mode: 'encrypt' | 'decrypt'): Promise<void> {
  const key = await crypto.subtle.importKey('raw', Uint8Array.from(KEY), 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
  const iv = new Uint8Array(12);
  const additionalData = new Uint8Array(32);
  const pt = SLICE_BYTES.subarray(0, chunk);
  const input =
    mode === 'encrypt'
      ? pt
      : new Uint8Array(
          await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, pt),
        );
  const queue: Promise<ArrayBuffer>[] = [];
  for (let done = 0; done < total; done += chunk) {
    queue.push(crypto.subtle[mode]({ name: 'AES-GCM', iv, additionalData }, key, input));
    if (queue.length >= PIPELINE_DEPTH) await queue.shift();
  }
  await Promise.all(queue);
}

/** One implementation, ready to encrypt the generated plaintext and decrypt its own output. */
interface Contender {
  encrypt(): Promise<Measured>;
  decrypt(): Promise<Measured>;
}

/** Carnet with `chunkSize`; the ciphertext for decryption is made once, untimed. */
async function carnet(total: number, chunkSize: number): Promise<Contender> {
  const enc = createFileEncryptor(KEY, CTX, total, { chunkSize });
  const ct = await keepAll(generated(total).pipeThrough(enc.stream));
  const digest = await enc.digest;
  return {
    encrypt: () =>
      measure(total, async () => {
        const e = createFileEncryptor(KEY, CTX, total, { chunkSize });
        await generated(total).pipeThrough(e.stream).pipeTo(webSink());
        await e.digest;
      }),
    decrypt: () => {
      const out = { bytes: 0 };
      return measure(total, async () => {
        const dec = createFileDecryptor(KEY, CTX);
        await replay(ct).pipeThrough(dec.stream).pipeTo(webSink(out));
        if (!equalBytes(await dec.digest, digest) || out.bytes !== total) {
          throw new Error('carnet: round trip failed');
        }
      });
    },
  };
}

/** Raw WebCrypto AES-256-GCM, the ceiling. */
function raw(total: number, chunk: number): Contender {
  return {
    encrypt: () => measure(total, () => rawAesGcm(total, chunk, 'encrypt')),
    decrypt: () => measure(total, () => rawAesGcm(total, chunk, 'decrypt')),
  };
}

async function typage(total: number): Promise<Contender> {
  const identity = await generateX25519Identity();
  const e = new Encrypter();
  e.addRecipient(await identityToRecipient(identity));
  const ct = await keepAll(await e.encrypt(generated(total)));
  const d = new Decrypter();
  d.addIdentity(identity);
  return {
    encrypt: () =>
      measure(total, async () => {
        await (await e.encrypt(generated(total))).pipeTo(webSink());
      }),
    decrypt: () => {
      const out = { bytes: 0 };
      return measure(total, async () => {
        await (await d.decrypt(replay(ct))).pipeTo(webSink(out));
        if (out.bytes !== total) throw new Error('typage: round trip failed');
      });
    },
  };
}

/** Tanker's streams are readable-stream (Node-style) object-mode transforms. */
async function tanker(total: number): Promise<Contender> {
  await tankerReady;
  const key = tankerRandom(32);
  const resourceId = tankerRandom(16);
  const encryptor = (): NodeJS.ReadWriteStream =>
    new EncryptionStreamV8(resourceId, key) as unknown as NodeJS.ReadWriteStream;
  const ct: Uint8Array[] = [];
  await pipeline(generatedNode(total), encryptor(), nodeSink(undefined, ct));
  return {
    encrypt: () => measure(total, () => pipeline(generatedNode(total), encryptor(), nodeSink())),
    decrypt: () => {
      const out = { bytes: 0 };
      return measure(total, async () => {
        const dec = new DecryptionStream(() => key) as unknown as NodeJS.ReadWriteStream;
        await pipeline(Readable.from(ct), dec, nodeSink(out));
        if (out.bytes !== total) throw new Error('tanker: round trip failed');
      });
    },
  };
}

/**
 * Measures two contenders in alternation, `reps` times, and returns the medians. These VMs are
 * shared and noisy: a ratio of figures taken seconds apart is worth more than either figure.
 */
async function alternate(contenders: Contender[], reps: number): Promise<Result[]> {
  const enc = contenders.map((): Measured[] => []);
  const dec = contenders.map((): Measured[] => []);
  for (let i = 0; i < reps; i++) {
    for (const [k, c] of contenders.entries()) enc[k]!.push(await c.encrypt());
    for (const [k, c] of contenders.entries()) dec[k]!.push(await c.decrypt());
  }
  return contenders.map((_, k) => ({ encrypt: median(enc[k]!), decrypt: median(dec[k]!) }));
}

// ---------------------------------------------------------------------------------------------
// Memory, in a fresh process per figure.

type ProbeMode = 'encrypt' | 'decrypt' | 'pipeline';

/**
 * Run in a child process: warms up, then streams `total` bytes with the given chunk size
 * through Carnet's encryptor (`encrypt`), decryptor (`decrypt`, from a ciphertext made and
 * kept in memory beforehand, so already part of the RSS before) or encryptor → decryptor
 * (`pipeline`, nothing held), and prints the figures, RSS growth = VmHWM − RSS before, as JSON.
 * Exported for {@link rssInChild}.
 */
export async function memoryProbe(
  total: number,
  chunkSize: number,
  mode: ProbeMode,
): Promise<void> {
  await hashWorkerReady();
  const warm = createFileEncryptor(KEY, CTX, 3 * MiB, { chunkSize });
  await generated(3 * MiB)
    .pipeThrough(warm.stream)
    .pipeThrough(createFileDecryptor(KEY, CTX).stream)
    .pipeTo(webSink());
  const ours = mode === 'decrypt' ? await carnet(total, chunkSize) : undefined;
  const m =
    ours !== undefined
      ? await ours.decrypt()
      : await measure(total, async () => {
          const enc = createFileEncryptor(KEY, CTX, total, { chunkSize });
          const out = { bytes: 0 };
          const encrypted = generated(total).pipeThrough(enc.stream);
          if (mode === 'encrypt') {
            await encrypted.pipeTo(webSink(out));
          } else {
            const dec = createFileDecryptor(KEY, CTX);
            await encrypted.pipeThrough(dec.stream).pipeTo(webSink(out));
            if (!equalBytes(await dec.digest, await enc.digest) || out.bytes !== total) {
              throw new Error('carnet: round trip failed');
            }
          }
        });
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** Runs {@link memoryProbe} in a child process with the same loader and environment. */
function rssInChild(total: number, chunkSize: number, mode: ProbeMode): Promise<Measured> {
  const self = new URL(import.meta.url).href;
  const code = `import { memoryProbe } from ${JSON.stringify(self)};\nawait memoryProbe(${total}, ${chunkSize}, ${JSON.stringify(mode)});`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, '--input-type=module', '-e', code],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: process.env,
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (status !== 0 || !last.startsWith('{'))
        reject(new Error(`memory probe failed (${status}): ${out}`));
      else resolve(JSON.parse(last) as Measured);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Primitive choices: the content digest's SHA-256, and ChaCha20-Poly1305 against AES-GCM.

async function primitives(r: Reporter, alloc: string): Promise<void> {
  const total = 32 * MiB;
  const reps = 3;
  type Impl = 'node' | 'worker' | 'wasm' | 'noble';
  const names: Record<Impl, string> = {
    node: 'node:crypto',
    wasm: 'hash-wasm',
    noble: 'noble',
    worker: 'node:crypto on the worker thread',
  };
  const impls = ['node', 'worker', 'wasm', 'noble'] as const;
  const sha = new Map<Impl, Measured[]>(impls.map((i) => [i, []]));
  const aes: Measured[] = [];
  const chacha: Measured[] = [];
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  for (let rep = 0; rep < reps; rep++) {
    for (const impl of impls) {
      const h: ContentHasher | undefined =
        impl === 'worker' ? createWorkerSha256() : await createSha256(impl);
      if (h === undefined) throw new Error('files: no hash worker');
      await h.update(SLICE_BYTES); // warm-up: JIT, WebAssembly instantiation
      sha.get(impl)!.push(
        await measure(total, async () => {
          for (let done = 0; done < total; done += SLICE) await h.update(SLICE_BYTES);
          await h.digest();
        }),
      );
    }
    aes.push(await measure(total, () => rawAesGcm(total, MiB, 'encrypt')));
    chacha.push(
      await measure(total, async () => {
        for (let done = 0; done < total; done += SLICE)
          chacha20poly1305Seal(key, nonce, SLICE_BYTES, nonce);
      }),
    );
  }
  const conditions = `32 MiB in 1 MiB pieces, median of ${reps}, alternating`;
  const nodeSha = median(sha.get('node')!);
  for (const impl of impls) {
    const m = median(sha.get(impl)!);
    r.add({
      bench: BENCH,
      metric: `SHA-256 incremental, ${names[impl]}`,
      value: m.mbps,
      unit: 'MB/s',
      ...(impl === 'node'
        ? {}
        : { ratio_to: 'SHA-256 incremental, node:crypto', ratio: m.mbps / nodeSha.mbps }),
      note: `${conditions}; ${cpuNote(m)}; ${alloc}`,
    });
  }
  const a = median(aes);
  const c = median(chacha);
  r.add({
    bench: BENCH,
    metric: 'AES-256-GCM encrypt, WebCrypto',
    value: a.mbps,
    unit: 'MB/s',
    note: `${conditions}, depth ${PIPELINE_DEPTH}; ${cpuNote(a)}; ${alloc}`,
  });
  r.add({
    bench: BENCH,
    metric: 'ChaCha20-Poly1305 encrypt, noble (pure JS)',
    value: c.mbps,
    unit: 'MB/s',
    ratio_to: 'AES-256-GCM encrypt, WebCrypto',
    ratio: c.mbps / a.mbps,
    note: `${conditions}; ${cpuNote(c)}; ${alloc}`,
  });
}

// ---------------------------------------------------------------------------------------------

/** Carnet at 1 MiB and 64 KiB chunks against the raw ceiling, then its memory figures. */
async function carnetVsRaw(r: Reporter, total: number, reps: number, alloc: string): Promise<void> {
  const size = sizeLabel(total);
  const repNote = reps > 1 ? `median of ${reps}, alternating; ` : '';
  for (const chunk of [MiB, 64 * KiB]) {
    const cl = chunkLabel(chunk);
    const [ceiling, res] = (await alternate(
      [raw(total, chunk), await carnet(total, chunk)],
      reps,
    )) as [Result, Result];
    for (const op of ['encrypt', 'decrypt'] as const) {
      const rawName = `raw WebCrypto AES-GCM ${op} ${size} (${cl} chunks)`;
      r.add({
        bench: BENCH,
        metric: rawName,
        value: ceiling[op].mbps,
        unit: 'MB/s',
        note: `${repNote}ceiling: no stream, copy, hash or padding, depth ${PIPELINE_DEPTH}; ${cpuNote(ceiling[op])}; ${alloc}`,
      });
      const share = res[op].mbps / ceiling[op].mbps;
      r.add({
        bench: BENCH,
        metric: `carnet ${op} ${size} (${cl} chunks)`,
        value: res[op].mbps,
        unit: 'MB/s',
        ratio_to: rawName,
        ratio: share,
        note: `${repNote}target ≥ 40 % of raw: ${verdict(share >= 0.4)}; ${cpuNote(res[op])}; ${alloc}`,
      });
    }
  }
  for (const chunk of [MiB, 64 * KiB]) {
    for (const mode of ['encrypt', 'decrypt', 'pipeline'] as const) {
      const m = await rssInChild(total, chunk, mode);
      const what = mode === 'pipeline' ? 'encrypt → decrypt' : mode;
      const target = total >= GiB ? `; target ≤ 64 MiB: ${verdict(m.growthMiB <= 64)}` : '';
      r.add({
        bench: BENCH,
        metric: `carnet ${what} ${size} (${chunkLabel(chunk)} chunks) RSS growth`,
        value: m.growthMiB,
        unit: 'MiB',
        note: `fresh process, VmHWM − RSS before${mode === 'decrypt' ? ' (the input ciphertext was already resident)' : ', nothing held'}; ${m.mbps.toFixed(0)} MB/s${target}; ${alloc}`,
      });
    }
  }
}

/** typage and Tanker, each alternating with Carnet (1 MiB chunks) on the same size. */
async function peers(r: Reporter, total: number, reps: number, alloc: string): Promise<void> {
  const size = sizeLabel(total);
  const repNote =
    reps > 1 ? `median of ${reps}, alternating with Carnet and raw` : 'run next to Carnet and raw';
  const ours = await carnet(total, MiB);
  const ceiling = raw(total, MiB);
  for (const [name, make, detail] of [
    ['typage', typage, 'X25519 recipient, 64 KiB ChaCha20-Poly1305 chunks (noble, pure JS)'],
    ['Tanker', tanker, 'EncryptionStreamV8 (Padmé), ~1 MiB XChaCha20-Poly1305 chunks (libsodium)'],
  ] as const) {
    const [peer, carnetRun, rawRun] = (await alternate(
      [await make(total), ours, ceiling],
      reps,
    )) as [Result, Result, Result];
    for (const op of ['encrypt', 'decrypt'] as const) {
      const speedup = carnetRun[op].mbps / peer[op].mbps;
      // How far the ceiling itself is from the peer: no stream built on WebCrypto can beat it.
      const rawSpeedup = rawRun[op].mbps / peer[op].mbps;
      const rawCpu = peer[op].cpuMsPerMiB / rawRun[op].cpuMsPerMiB;
      r.add({
        bench: BENCH,
        metric: `${name} ${op} ${size}`,
        value: peer[op].mbps,
        unit: 'MB/s',
        ratio_to: `carnet ${op} ${size}, same run`,
        ratio: peer[op].mbps / carnetRun[op].mbps,
        note: `${repNote}: Carnet ${carnetRun[op].mbps.toFixed(0)} MB/s, ×${speedup.toFixed(1)} (target ≥ ×5: ${verdict(speedup >= 5)}); by CPU time ×${(peer[op].cpuMsPerMiB / carnetRun[op].cpuMsPerMiB).toFixed(1)}; raw AES-GCM ceiling ×${rawSpeedup.toFixed(1)} (CPU ×${rawCpu.toFixed(1)}); ${detail}; ${cpuNote(peer[op])}; ${alloc}`,
      });
    }
  }
}

/** Runs the large-file benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const alloc = allocatorNote();
  // Large files hash on a worker thread once it is up; start it so that every run uses it.
  if (!(await hashWorkerReady())) throw new Error('files: the hash worker did not start');
  await primitives(r, alloc);
  for (const total of o.quick ? [64 * MiB] : [64 * MiB, GiB]) {
    const reps = total >= GiB ? 1 : 3;
    await carnetVsRaw(r, total, reps, alloc);
    await peers(r, total, reps, alloc);
  }
}
