/**
 * Associated-data encoding and key-committing envelopes: known answers, property tests over
 * every kind of tampering, and the committed vector file vectors/envelope.v1.json.
 */
import { ctxArb, ctxPairArb, FIELDS, KINDS, mutate, mutationArb } from './mutations';
import { vectorFile } from './vector-files';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes, fromHex, toHex } from '../src/bytes';
import { encodeAssociatedData } from '../src/context';
import type { ObjectContext } from '../src/context';
import { deriveEnvelopeKeys, ENVELOPE_MIN_LEN, openEnvelope, sealEnvelope } from '../src/envelope';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import { parseId } from '../src/ids';
import type { FolderId } from '../src/ids';
import { FORMAT, KIND } from '../src/registry';
import type { KindByte } from '../src/registry';

// ---------------------------------------------------------------------------------------------
// Helpers shared by the properties and the vector file.

function codeOf(fn: () => unknown): CarnetErrorCode | 'none' | 'foreign' {
  try {
    fn();
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

const kindArb = fc.constantFrom(...KINDS);
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const ptArb = fc.uint8Array({ maxLength: 200 });

/** The same context with one field replaced (by another generated value) or removed. */

/** Builds a branded context from a vector file's JSON, validating every id. */
function toContext(json: Record<string, unknown>): ObjectContext {
  const ctx: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    ctx[k] = k.endsWith('Id') ? parseId(v as string, k) : v;
  }
  return ctx as ObjectContext;
}

const FOLDER = 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId;

// ---------------------------------------------------------------------------------------------

describe('encodeAssociatedData', () => {
  it('matches the documented layout byte for byte', () => {
    const ad = encodeAssociatedData(FORMAT.V1, KIND.DATA_KEY, {
      epoch: 2,
      folderId: FOLDER,
      label: 'é',
    });
    expect(toHex(ad)).toBe(
      toHex(new TextEncoder().encode('carnet/v1/ad')) +
        '0107' +
        '01' +
        '00000016' +
        toHex(new TextEncoder().encode(FOLDER)) +
        '04' +
        '00000008' +
        '0000000000000002' +
        '07' +
        '00000002' +
        'c3a9',
    );
  });

  it('distinguishes absent from empty, and treats undefined as absent', () => {
    const none = encodeAssociatedData(1, 1, {});
    expect(toHex(encodeAssociatedData(1, 1, { label: undefined }))).toBe(toHex(none));
    expect(toHex(encodeAssociatedData(1, 1, { label: '' }))).not.toBe(toHex(none));
    expect(toHex(encodeAssociatedData(1, 1, { version: 0 }))).not.toBe(toHex(none));
    expect(toHex(encodeAssociatedData(1, 1, {}))).not.toBe(toHex(encodeAssociatedData(1, 2, {})));
  });

  it('refuses what it cannot encode unambiguously', () => {
    const bad: unknown[] = [
      { folderID: FOLDER },
      { folderId: 'short' },
      { recordId: FOLDER + '=' },
      { version: -1 },
      { version: 1.5 },
      { epoch: 2 ** 53 },
      { epoch: '1' },
      { label: 'a\uD800b' },
      { label: '\uDC00' },
      { label: 7 },
      null,
    ];
    for (const ctx of bad) {
      expect(codeOf(() => encodeAssociatedData(1, 1, ctx as ObjectContext))).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(codeOf(() => encodeAssociatedData(1, 1, { label: '\uD83E\uDE7A' }))).toBe('none');
  });

  it('is injective over contexts', () => {
    fc.assert(
      fc.property(ctxArb, ctxArb, (a, b) => {
        const same = FIELDS.every((f) => a[f] === b[f]);
        expect(equalBytes(encodeAssociatedData(1, 3, a), encodeAssociatedData(1, 3, b))).toBe(same);
      }),
      { numRuns: 500 },
    );
  });
});

describe('envelopes', () => {
  it('derives the subkey and commitment of the worked example in the protocol document', () => {
    const ad = encodeAssociatedData(FORMAT.V1, KIND.DATA_KEY, { folderId: FOLDER, epoch: 2 });
    expect(toHex(ad)).toBe(
      '6361726e65742f76312f6164010701000000165a6d39735a4756794c576c6b4c575634595731776241' +
        '04000000080000000000000002',
    );
    const { subkey, commitment } = deriveEnvelopeKeys(
      new Uint8Array(32).fill(0x11),
      new Uint8Array(24).fill(0x22),
      ad,
    );
    expect(toHex(subkey)).toBe('caf177da45efa0097ea2e475dca46016bdf3d50847786d4a195dde8947e85ce5');
    expect(toHex(commitment)).toBe(
      '976702a1f844e19dfbe1b85a68700c192c962b3cb149f63af7e8d9b65b6c4b34',
    );
  });

  it('round-trips, with the documented layout and a fresh nonce each time', () => {
    fc.assert(
      fc.property(kindArb, keyArb, ptArb, ctxArb, (kind, key, pt, ctx) => {
        const env = sealEnvelope(kind, key, pt, ctx);
        expect(env.length).toBe(ENVELOPE_MIN_LEN + pt.length);
        expect([env[0], env[1]]).toEqual([FORMAT.V1, kind]);
        const ad = encodeAssociatedData(FORMAT.V1, kind, ctx);
        const { commitment } = deriveEnvelopeKeys(key, env.subarray(2, 26), ad);
        expect(toHex(env.subarray(26, 58))).toBe(toHex(commitment));
        expect(openEnvelope(kind, key, env, ctx)).toEqual(pt);
        expect(toHex(sealEnvelope(kind, key, pt, ctx).subarray(2, 26))).not.toBe(
          toHex(env.subarray(2, 26)),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any flipped, removed or inserted byte and any truncation with a CarnetError', () => {
    fc.assert(
      fc.property(kindArb, keyArb, ptArb, ctxArb, mutationArb, (kind, key, pt, ctx, m) => {
        const bad = mutate(sealEnvelope(kind, key, pt, ctx), m);
        const code = codeOf(() => openEnvelope(kind, key, bad, ctx));
        expect(['INTEGRITY', 'TRUNCATED', 'FORMAT', 'DOWNGRADE', 'CONTEXT_MISMATCH']).toContain(
          code,
        );
        // Past the prefix and the minimum length, nothing distinguishes one failure from another.
        if (bad.length >= ENVELOPE_MIN_LEN && bad[0] === FORMAT.V1 && bad[1] === kind) {
          expect(code).toBe('INTEGRITY');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses another kind, context, key, or a body swapped between envelopes', () => {
    fc.assert(
      fc.property(
        kindArb,
        kindArb,
        keyArb,
        keyArb,
        ptArb,
        ptArb,
        ctxPairArb,
        (k1, k2, key1, key2, pt1, pt2, [c1, c2]) => {
          const env = sealEnvelope(k1, key1, pt1, c1);
          if (k2 !== k1)
            expect(codeOf(() => openEnvelope(k2, key1, env, c1))).toBe('CONTEXT_MISMATCH');
          expect(codeOf(() => openEnvelope(k1, key1, env, c2))).toBe('INTEGRITY');
          if (!equalBytes(key1, key2))
            expect(codeOf(() => openEnvelope(k1, key2, env, c1))).toBe('INTEGRITY');
          const other = sealEnvelope(k1, key1, pt2, c1);
          const swapped = new Uint8Array([...env.subarray(0, 58), ...other.subarray(58)]);
          expect(codeOf(() => openEnvelope(k1, key1, swapped, c1))).toBe('INTEGRITY');
          const swappedHeader = new Uint8Array([...other.subarray(0, 58), ...env.subarray(58)]);
          expect(codeOf(() => openEnvelope(k1, key1, swappedHeader, c1))).toBe('INTEGRITY');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks arguments', () => {
    const key = new Uint8Array(32);
    expect(
      codeOf(() => sealEnvelope(KIND.DATA_KEY, new Uint8Array(16), new Uint8Array(1), {})),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => sealEnvelope(0xee as KindByte, key, new Uint8Array(1), {}))).toBe(
      'INVALID_ARGUMENT',
    );
    const env = sealEnvelope(KIND.DATA_KEY, key, new Uint8Array(1), {});
    expect(codeOf(() => openEnvelope(KIND.DATA_KEY, new Uint8Array(31), env, {}))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

interface VectorFile {
  format: string;
  version: number;
  valid: Record<string, unknown>[];
  invalid: Record<string, unknown>[];
}

describe('vectors/envelope.v1.json', () => {
  const file = vectorFile<VectorFile>('envelope.v1.json');

  it('has the expected header and enough cases', () => {
    expect([file.format, file.version]).toEqual(['carnet-envelope', 1]);
    expect(file.valid.length).toBeGreaterThanOrEqual(5);
    const codes = new Set(file.invalid.map((v) => v.expected_error));
    for (const c of ['INTEGRITY', 'FORMAT', 'DOWNGRADE', 'TRUNCATED', 'CONTEXT_MISMATCH'])
      expect(codes).toContain(c);
  });

  const open = (v: Record<string, unknown>): Uint8Array =>
    openEnvelope(
      KIND[v.kind as keyof typeof KIND],
      fromHex(v.key as string),
      fromHex(v.object as string),
      toContext(v.context as Record<string, unknown>),
    );

  it.each(file.valid.map((v) => [v.description as string, v] as const))('opens: %s', (_d, v) => {
    expect(toHex(open(v))).toBe(v.plaintext);
  });

  it.each(file.invalid.map((v) => [v.description as string, v] as const))(
    'refuses: %s',
    (_d, v) => {
      expect(codeOf(() => open(v))).toBe(v.expected_error);
    },
  );
});
