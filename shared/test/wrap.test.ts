/**
 * HPKE wraps: round trips and tampering as properties (on both X25519 backends), and the
 * committed vector file vectors/hpke-wrap.v1.json.
 */
import { ctxArb, ctxPairArb, KINDS, mutate, mutationArb } from './mutations';
import { vectorFile } from './vector-files';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../src/bytes';
import type { ObjectContext } from '../src/context';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import { hpkeOpen } from '../src/hpke';
import { parseId } from '../src/ids';
import { setBackend } from '../src/primitives/backend';
import { x25519Keygen } from '../src/primitives/x25519';
import { FORMAT, KIND } from '../src/registry';
import type { KindByte } from '../src/registry';
import { unwrapWithPrivateKey, WRAP_MIN_LEN, wrapInfo, wrapToPublicKey } from '../src/wrap';

async function codeOf(p: () => Promise<unknown>): Promise<CarnetErrorCode | 'none' | 'foreign'> {
  try {
    await p();
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

const kindArb = fc.constantFrom(...KINDS);
const secretArb = fc.uint8Array({ maxLength: 64 });

afterAll(() => setBackend('auto'));

describe.each(['webcrypto', 'noble'] as const)('wraps (%s)', (backend) => {
  let alice: { privateKey: Uint8Array; publicKey: Uint8Array };
  let bob: { privateKey: Uint8Array; publicKey: Uint8Array };
  beforeAll(async () => {
    setBackend(backend);
    alice = await x25519Keygen();
    bob = await x25519Keygen();
  });

  it('round-trips, as plain RFC 9180 HPKE with the documented info and aad', async () => {
    setBackend(backend);
    await fc.assert(
      fc.asyncProperty(kindArb, secretArb, ctxArb, async (kind, secret, ctx) => {
        const w = await wrapToPublicKey(kind, alice.publicKey, secret, ctx);
        expect(w.length).toBe(WRAP_MIN_LEN + secret.length);
        expect([w[0], w[1]]).toEqual([FORMAT.V1, kind]);
        expect(await unwrapWithPrivateKey(kind, alice.privateKey, w, ctx)).toEqual(secret);
        // Interoperability: any RFC 9180 implementation opens it given the documented inputs.
        const plain = await hpkeOpen({
          recipientPrivateKey: alice.privateKey,
          enc: w.subarray(2, 34),
          info: wrapInfo(FORMAT.V1, kind, ctx, alice.publicKey),
          aad: w.subarray(0, 2),
          ciphertext: w.subarray(34),
        });
        expect(plain).toEqual(secret);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses any flipped, removed or inserted byte and any truncation with a CarnetError', async () => {
    setBackend(backend);
    await fc.assert(
      fc.asyncProperty(kindArb, secretArb, ctxArb, mutationArb, async (kind, secret, ctx, m) => {
        const bad = mutate(await wrapToPublicKey(kind, alice.publicKey, secret, ctx), m);
        const code = await codeOf(() => unwrapWithPrivateKey(kind, alice.privateKey, bad, ctx));
        expect(['INTEGRITY', 'TRUNCATED', 'FORMAT', 'DOWNGRADE', 'CONTEXT_MISMATCH']).toContain(
          code,
        );
        if (bad.length >= WRAP_MIN_LEN && bad[0] === FORMAT.V1 && bad[1] === kind)
          expect(code).toBe('INTEGRITY');
      }),
      { numRuns: 150 },
    );
  });

  it('refuses another kind, context, recipient, or a body swapped between wraps', async () => {
    setBackend(backend);
    await fc.assert(
      fc.asyncProperty(
        kindArb,
        kindArb,
        secretArb,
        secretArb,
        ctxPairArb,
        async (k1, k2, s1, s2, [c1, c2]) => {
          const w = await wrapToPublicKey(k1, alice.publicKey, s1, c1);
          if (k2 !== k1)
            expect(await codeOf(() => unwrapWithPrivateKey(k2, alice.privateKey, w, c1))).toBe(
              'CONTEXT_MISMATCH',
            );
          expect(await codeOf(() => unwrapWithPrivateKey(k1, alice.privateKey, w, c2))).toBe(
            'INTEGRITY',
          );
          expect(await codeOf(() => unwrapWithPrivateKey(k1, bob.privateKey, w, c1))).toBe(
            'INTEGRITY',
          );
          const other = await wrapToPublicKey(k1, alice.publicKey, s2, c1);
          const swapped = concatBytes(w.subarray(0, 34), other.subarray(34));
          expect(await codeOf(() => unwrapWithPrivateKey(k1, alice.privateKey, swapped, c1))).toBe(
            'INTEGRITY',
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('checks arguments', async () => {
    setBackend(backend);
    const s = new Uint8Array(32);
    expect(await codeOf(() => wrapToPublicKey(KIND.MEMBER_WRAP, new Uint8Array(31), s, {}))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => wrapToPublicKey(KIND.MEMBER_WRAP, new Uint8Array(32), s, {}))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => wrapToPublicKey(0xee as KindByte, alice.publicKey, s, {}))).toBe(
      'INVALID_ARGUMENT',
    );
    const w = await wrapToPublicKey(KIND.MEMBER_WRAP, alice.publicKey, s, {});
    expect(
      await codeOf(() => unwrapWithPrivateKey(KIND.MEMBER_WRAP, new Uint8Array(16), w, {})),
    ).toBe('INVALID_ARGUMENT');
  });
});

interface VectorFile {
  format: string;
  version: number;
  valid: Record<string, unknown>[];
  invalid: Record<string, unknown>[];
}

function toContext(json: Record<string, unknown>): ObjectContext {
  const ctx: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json))
    ctx[k] = k.endsWith('Id') ? parseId(v as string, k) : v;
  return ctx as ObjectContext;
}

describe.each(['webcrypto', 'noble'] as const)('vectors/hpke-wrap.v1.json (%s)', (backend) => {
  const file = vectorFile<VectorFile>('hpke-wrap.v1.json');
  const open = (v: Record<string, unknown>): Promise<Uint8Array> =>
    unwrapWithPrivateKey(
      KIND[v.kind as keyof typeof KIND],
      fromHex(v.recipient_private_key as string),
      fromHex(v.object as string),
      toContext(v.context as Record<string, unknown>),
    );

  it('has the expected header and enough cases', () => {
    expect([file.format, file.version]).toEqual(['carnet-hpke-wrap', 1]);
    expect(file.valid.length).toBeGreaterThanOrEqual(3);
    const codes = new Set(file.invalid.map((v) => v.expected_error));
    for (const c of ['INTEGRITY', 'FORMAT', 'DOWNGRADE', 'TRUNCATED', 'CONTEXT_MISMATCH'])
      expect(codes).toContain(c);
  });

  it.each(file.valid.map((v) => [v.description as string, v] as const))(
    'opens: %s',
    async (_d, v) => {
      setBackend(backend);
      expect(toHex(await open(v))).toBe(v.plaintext);
    },
  );

  it.each(file.invalid.map((v) => [v.description as string, v] as const))(
    'refuses: %s',
    async (_d, v) => {
      setBackend(backend);
      expect(await codeOf(() => open(v))).toBe(v.expected_error);
    },
  );
});
