/**
 * Login key derivation at the production parameters (Argon2id 64 MiB, t = 3, p = 1, then two
 * HKDF expansions): hash-wasm (WebAssembly) against noble (pure JS), median of several runs,
 * with the ratio between them. The target is ≤ 0.6 s for the implementation Carnet picks
 * (hash-wasm; noble is the fallback where WebAssembly cannot run). The parameters cannot be
 * shrunk in --quick mode: the floor forbids it, so quick only runs fewer repetitions.
 */
import { deriveLoginKeys, newKdfParams, type Argon2Implementation } from '@carnet/shared/core';
import { nowMs, peakRssMiB, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'kdf';
const TARGET_MS = 600;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Timings {
  /** Wall-clock milliseconds per run. */
  wall: number[];
  /** Process CPU milliseconds (user + system) per run: less sensitive to other load. */
  cpu: number[];
}

async function measure(
  implementation: Exclude<Argon2Implementation, 'auto'>,
  runs: number,
): Promise<Timings> {
  const params = newKdfParams();
  // One untimed run: WASM compilation and JIT warm-up are not what a login costs twice.
  await deriveLoginKeys('correct horse battery staple', params, { implementation });
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = nowMs();
    await deriveLoginKeys('correct horse battery staple', params, { implementation });
    wall.push(nowMs() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const range = (xs: number[]): string =>
  `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;

/** Runs the KDF benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const runs = o.quick ? 3 : 5;
  const conditions = `64 MiB, t=3, p=1, median of ${runs}`;
  const wasm = await measure('wasm', runs);
  const wasmWall = median(wasm.wall);
  const verdict = wasmWall <= TARGET_MS ? 'met' : 'MISSED';
  r.add({
    bench: BENCH,
    metric: 'deriveLoginKeys, hash-wasm',
    value: wasmWall,
    unit: 'ms',
    note: `${conditions}; ${range(wasm.wall)}; target ≤ ${TARGET_MS} ms: ${verdict}`,
  });
  r.add({
    bench: BENCH,
    metric: 'deriveLoginKeys, hash-wasm, CPU time',
    value: median(wasm.cpu),
    unit: 'ms',
    note: `${conditions}; ${range(wasm.cpu)}`,
  });
  const noble = await measure('noble', runs);
  r.add({
    bench: BENCH,
    metric: 'deriveLoginKeys, noble (fallback)',
    value: median(noble.wall),
    unit: 'ms',
    ratio_to: 'deriveLoginKeys, hash-wasm',
    ratio: median(noble.wall) / wasmWall,
    note: `${conditions}; ${range(noble.wall)}`,
  });
  r.add({
    bench: BENCH,
    metric: 'deriveLoginKeys, noble (fallback), CPU time',
    value: median(noble.cpu),
    unit: 'ms',
    ratio_to: 'deriveLoginKeys, hash-wasm, CPU time',
    ratio: median(noble.cpu) / median(wasm.cpu),
    note: `${conditions}; ${range(noble.cpu)}`,
  });
  r.add({ bench: BENCH, metric: 'peak RSS after both', value: peakRssMiB(), unit: 'MiB' });
}
