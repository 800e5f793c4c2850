/**
 * Asymmetric operations per second, WebCrypto against noble (the two backends of
 * shared/src/primitives): Ed25519 sign and verify of a 256-byte message (the size of a
 * record-version or manifest signing input), X25519 shared-secret derivation, and the full
 * key-bundle verification (structure, small-order checks, signature) that a client runs per
 * member bundle. Each figure is operations completed in a fixed time budget after a warm-up,
 * one at a time (awaited), as the client code issues them.
 */
import { createKeyBundle, generateAccountKeys, verifyKeyBundle } from '@carnet/shared/core';
import { newId, type AccountId } from '@carnet/shared/core';
import { setBackend, type Backend } from '@carnet/shared/primitives';
import { ed25519Keygen, ed25519Sign, ed25519Verify } from '@carnet/shared/primitives';
import { randomBytes } from '@carnet/shared/primitives';
import { x25519, x25519Keygen } from '@carnet/shared/primitives';
import { nowMs, type Reporter } from './report';
import type { BenchOptions } from './run';

const BENCH = 'sign';

/** Operations per second of `op` over `budgetMs` (after `budgetMs / 5` of warm-up). */
async function opsPerSecond(op: () => Promise<unknown>, budgetMs: number): Promise<number> {
  const warmEnd = nowMs() + budgetMs / 5;
  while (nowMs() < warmEnd) await op();
  let n = 0;
  const t0 = nowMs();
  let t = t0;
  while (t - t0 < budgetMs) {
    await op();
    n++;
    t = nowMs();
  }
  return (n * 1000) / (t - t0);
}

/** Runs the signature / key-agreement benchmark. */
export async function run(r: Reporter, o: BenchOptions): Promise<void> {
  const budget = o.quick ? 250 : 1500;
  const msg = randomBytes(256);
  const signer = await ed25519Keygen();
  const alice = await x25519Keygen();
  const bob = await x25519Keygen();
  const sig = await ed25519Sign(signer.privateKey, msg);
  const secrets = await generateAccountKeys();
  const accountId = newId<AccountId>();
  const bundle = await createKeyBundle(secrets, { accountId, role: 'practitioner', createdAt: 0 });

  const ops: [string, () => Promise<unknown>][] = [
    ['Ed25519 sign (256 B)', () => ed25519Sign(signer.privateKey, msg)],
    [
      'Ed25519 verify (256 B)',
      async () => {
        if (!(await ed25519Verify(signer.publicKey, msg, sig))) throw new Error('bad signature');
      },
    ],
    ['X25519 shared secret', () => x25519(alice.privateKey, bob.publicKey)],
    ['verifyKeyBundle', () => verifyKeyBundle(bundle, accountId)],
  ];
  const backends: Exclude<Backend, 'auto'>[] = ['webcrypto', 'noble'];
  try {
    for (const [name, op] of ops) {
      const rates = new Map<string, number>();
      for (const backend of backends) {
        setBackend(backend);
        rates.set(backend, await opsPerSecond(op, budget));
      }
      const web = rates.get('webcrypto')!;
      const noble = rates.get('noble')!;
      r.add({ bench: BENCH, metric: `${name}, WebCrypto`, value: web, unit: 'ops/s' });
      r.add({
        bench: BENCH,
        metric: `${name}, noble`,
        value: noble,
        unit: 'ops/s',
        ratio_to: `${name}, WebCrypto`,
        ratio: noble / web,
        note: `${budget} ms budget, sequential`,
      });
    }
  } finally {
    setBackend('auto');
  }
}
