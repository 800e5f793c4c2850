import { vectorFile } from './vector-files';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createKeyBundle,
  generateAccountKeys,
  isLowOrderX25519,
  KEY_BUNDLE_LENGTH,
  KEY_BUNDLE_SIGNATURE_DOMAIN,
  parseKeyBundle,
  ROLE,
  verifyKeyBundle,
  accountSecretsFromPrivate,
  type AccountSecrets,
  type Role,
} from '../src/account';
import { concatBytes, fromHex, lp, toHex, utf8 } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import { newId, type AccountId } from '../src/ids';
import { setBackend } from '../src/primitives/backend';
import { ed25519Sign, ed25519Verify } from '../src/primitives/ed25519';
import { x25519 } from '../src/primitives/x25519';
import { fingerprint, fingerprintBytes } from '../src/safety-code';

async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : `not a CarnetError: ${String(e)}`;
  }
}

const CREATED = Date.UTC(2026, 0, 15);

async function makeBundle(role: Role = 'practitioner') {
  const secrets = await generateAccountKeys();
  const accountId = newId<AccountId>();
  const bytes = await createKeyBundle(secrets, { accountId, role, createdAt: CREATED });
  return { secrets, accountId, bytes };
}

/** Signs `body` as a bundle, so tests can build validly signed but unacceptable bundles. */
async function signed(seed: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
  const sig = await ed25519Sign(seed, concatBytes(lp(utf8(KEY_BUNDLE_SIGNATURE_DOMAIN)), body));
  return concatBytes(body, sig);
}

afterEach(() => setBackend('auto'));

describe('account keys', () => {
  it('generates an Ed25519 identity, an X25519 key pair and a 32-byte account key', async () => {
    const a = await generateAccountKeys();
    const b = await generateAccountKeys();
    for (const k of Object.values(a)) expect(k).toHaveLength(32);
    expect(toHex(a.accountKey)).not.toBe(toHex(b.accountKey));
    expect(toHex(a.identityPrivateKey)).not.toBe(toHex(b.identityPrivateKey));
    // The pairs match: a signature verifies, and X25519 agrees both ways.
    const sig = await ed25519Sign(a.identityPrivateKey, utf8('m'));
    expect(await ed25519Verify(a.identityPublicKey, utf8('m'), sig)).toBe(true);
    const ab = await x25519(a.encryptionPrivateKey, b.encryptionPublicKey);
    const ba = await x25519(b.encryptionPrivateKey, a.encryptionPublicKey);
    expect(toHex(ab)).toBe(toHex(ba));
    // Rebuilding from the private halves recomputes the same public keys.
    const again = await accountSecretsFromPrivate(
      a.identityPrivateKey,
      a.encryptionPrivateKey,
      a.accountKey,
    );
    expect(toHex(again.identityPublicKey)).toBe(toHex(a.identityPublicKey));
    expect(toHex(again.encryptionPublicKey)).toBe(toHex(a.encryptionPublicKey));
  });
});

describe('key bundle', () => {
  it.each(Object.keys(ROLE) as Role[])('round-trips a %s bundle', async (role) => {
    const { secrets, accountId, bytes } = await makeBundle(role);
    expect(bytes).toHaveLength(KEY_BUNDLE_LENGTH);
    expect([bytes[0], bytes[1], bytes[18]]).toEqual([0x01, 0x01, ROLE[role]]);
    const b = await verifyKeyBundle(bytes, accountId);
    expect(b).toMatchObject({ format: 1, accountId, role, createdAt: CREATED });
    expect(toHex(b.identityPublicKey)).toBe(toHex(secrets.identityPublicKey));
    expect(toHex(b.encryptionPublicKey)).toBe(toHex(secrets.encryptionPublicKey));
    expect(toHex(b.bytes)).toBe(toHex(bytes));
    // Public: nothing but ids, role, time and keys. 155 bytes leave no room for a name.
    expect(await verifyKeyBundle(bytes)).toMatchObject({ accountId });
  });

  it('verifies across backends (WebCrypto-signed, noble-verified and back)', async () => {
    setBackend('webcrypto');
    const w = await makeBundle();
    setBackend('noble');
    const n = await makeBundle();
    expect((await verifyKeyBundle(w.bytes, w.accountId)).accountId).toBe(w.accountId);
    setBackend('webcrypto');
    expect((await verifyKeyBundle(n.bytes, n.accountId)).accountId).toBe(n.accountId);
  });

  it('refuses the bundle of another account', async () => {
    const { bytes } = await makeBundle();
    expect(await codeOf(() => verifyKeyBundle(bytes, newId<AccountId>()))).toBe('KEY_UNVERIFIED');
  });

  it('refuses a bundle signed by a key other than its own identity key', async () => {
    const a = await makeBundle();
    const b = await makeBundle();
    const forged = await signed(b.secrets.identityPrivateKey, a.bytes.subarray(0, 91));
    expect(await codeOf(() => verifyKeyBundle(forged))).toBe('KEY_UNVERIFIED');
  });

  it('maps every single-byte flip to the right error', async () => {
    const { bytes, accountId } = await makeBundle();
    const expected = (i: number): string => {
      if (i === 0) return 'DOWNGRADE'; // format 0x00
      if (i === 1) return 'FORMAT'; // kind 0x00 is not in the registry
      if (i === 18) return 'FORMAT'; // role 0x00 is unknown
      if (i === 19) return 'FORMAT'; // creation time ≥ 2^56 ms is not a safe integer
      return 'KEY_UNVERIFIED';
    };
    for (let i = 0; i < bytes.length; i++) {
      const t = bytes.slice();
      t[i] = (t[i] as number) ^ 0x01;
      expect(await codeOf(() => verifyKeyBundle(t, accountId)), `byte ${i}`).toBe(expected(i));
    }
  });

  it('refuses a role swapped for another valid role', async () => {
    const { bytes } = await makeBundle('support');
    const t = bytes.slice();
    t[18] = ROLE.practitioner;
    expect(await codeOf(() => verifyKeyBundle(t))).toBe('KEY_UNVERIFIED');
  });

  it('refuses structural damage with FORMAT, TRUNCATED or DOWNGRADE', async () => {
    const { bytes } = await makeBundle();
    expect(await codeOf(() => verifyKeyBundle(bytes.subarray(0, 154)))).toBe('TRUNCATED');
    expect(await codeOf(() => verifyKeyBundle(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(await codeOf(() => verifyKeyBundle(concatBytes(bytes, new Uint8Array(1))))).toBe(
      'FORMAT',
    );
    const f2 = bytes.slice();
    f2[0] = 0x02;
    expect(await codeOf(() => verifyKeyBundle(f2))).toBe('FORMAT');
    const f0 = bytes.slice();
    f0[0] = 0x00;
    expect(await codeOf(() => verifyKeyBundle(f0))).toBe('DOWNGRADE');
  });

  it('refuses any random mutation with a CarnetError (property)', async () => {
    const { bytes, accountId } = await makeBundle();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (pos, x) => {
          const t = bytes.slice();
          t[pos] = (t[pos] as number) ^ x;
          const code = await codeOf(() => verifyKeyBundle(t, accountId));
          expect(['KEY_UNVERIFIED', 'FORMAT', 'DOWNGRADE', 'CONTEXT_MISMATCH']).toContain(code);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a validly signed bundle whose X25519 key has low order', async () => {
    const { secrets, bytes } = await makeBundle();
    const zero = new Uint8Array(32);
    const t = await signed(secrets.identityPrivateKey, concatBytes(bytes.subarray(0, 59), zero));
    expect(await codeOf(() => verifyKeyBundle(t))).toBe('KEY_UNVERIFIED');
  });

  it('refuses a small-order Ed25519 identity key that WebCrypto would accept', async () => {
    const { bytes } = await makeBundle();
    const identity = new Uint8Array(32);
    identity[0] = 1;
    // R = identity point, S = 0: a cofactored verifier accepts it for any message.
    const trivial = new Uint8Array(64);
    trivial[0] = 1;
    const body = concatBytes(bytes.subarray(0, 27), identity, bytes.subarray(59, 91));
    // Under WebCrypto (Node's OpenSSL) the primitive alone accepts this signature, so this
    // test fails if verifyKeyBundle's small-order check is removed.
    setBackend('webcrypto');
    expect(await codeOf(() => verifyKeyBundle(concatBytes(body, trivial)))).toBe('KEY_UNVERIFIED');
    setBackend('noble');
    expect(await codeOf(() => verifyKeyBundle(concatBytes(body, trivial)))).toBe('KEY_UNVERIFIED');
  });

  it('knows every low-order X25519 u-coordinate: each yields an all-zero secret', () => {
    const p = 2n ** 255n - 19n;
    const enc = (u: bigint): Uint8Array => {
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
      return out;
    };
    const lowOrder = [
      0n,
      1n,
      p - 1n,
      p,
      p + 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
    ];
    const priv = nobleX25519.utils.randomSecretKey();
    for (const u of lowOrder) {
      const pub = enc(u);
      expect(isLowOrderX25519(pub)).toBe(true);
      // noble refuses an all-zero shared secret.
      expect(() => nobleX25519.getSharedSecret(priv, pub)).toThrow();
      // The top bit is ignored by X25519, so it must be ignored here too.
      const high = pub.slice();
      high[31] = (high[31] as number) | 0x80;
      expect(isLowOrderX25519(high)).toBe(true);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (pub) => {
        let threw = false;
        try {
          nobleX25519.getSharedSecret(priv, pub);
        } catch {
          threw = true;
        }
        expect(isLowOrderX25519(pub)).toBe(threw);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses bad arguments when creating a bundle', async () => {
    const secrets = await generateAccountKeys();
    const accountId = newId<AccountId>();
    const bad = [
      () => createKeyBundle(secrets, { accountId, role: 'admin' as Role, createdAt: 0 }),
      () => createKeyBundle(secrets, { accountId, role: 'patient', createdAt: -1 }),
      () =>
        createKeyBundle(secrets, { accountId: 'x' as AccountId, role: 'patient', createdAt: 0 }),
      () =>
        createKeyBundle({ ...secrets, identityPublicKey: new Uint8Array(31) } as AccountSecrets, {
          accountId,
          role: 'patient',
          createdAt: 0,
        }),
      () => createKeyBundle(secrets, { accountId, role: 'toString' as Role, createdAt: 0 }),
      // Public half that does not match the private one: the bundle would never verify.
      async () => {
        const other = await generateAccountKeys();
        const mixed = { ...secrets, identityPublicKey: other.identityPublicKey };
        return createKeyBundle(mixed, { accountId, role: 'patient', createdAt: 0 });
      },
      async () => {
        const other = await generateAccountKeys();
        const mixed = { ...secrets, encryptionPublicKey: other.encryptionPublicKey };
        return createKeyBundle(mixed, { accountId, role: 'patient', createdAt: 0 });
      },
    ];
    for (const f of bad) expect(await codeOf(f)).toBe('INVALID_ARGUMENT');
  });
});

interface BundleVectors {
  valid: {
    name: string;
    identitySeed: string;
    encryptionPrivateKey: string;
    accountId: string;
    role: Role;
    createdAt: number;
    identityPublicKey: string;
    encryptionPublicKey: string;
    bundle: string;
    fingerprint: string;
    safetyCode: string;
  }[];
  invalid: { name: string; bundle: string; expectedAccountId?: string; error: string }[];
}

describe('key-bundle.v1.json', () => {
  const vectors = vectorFile<BundleVectors>('key-bundle.v1.json');

  it('has valid and invalid entries', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(3);
    expect(vectors.invalid.length).toBeGreaterThanOrEqual(10);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('valid: %s', async (_name, v) => {
    const b = await verifyKeyBundle(fromHex(v.bundle), v.accountId as AccountId);
    expect(b).toMatchObject({ accountId: v.accountId, role: v.role, createdAt: v.createdAt });
    expect(toHex(b.identityPublicKey)).toBe(v.identityPublicKey);
    expect(toHex(b.encryptionPublicKey)).toBe(v.encryptionPublicKey);
    expect(toHex(fingerprintBytes(b))).toBe(v.fingerprint);
    expect(fingerprint(b)).toBe(v.safetyCode);
    // Ed25519 is deterministic: the same secrets re-create the same bytes.
    const secrets = await accountSecretsFromPrivate(
      fromHex(v.identitySeed),
      fromHex(v.encryptionPrivateKey),
      new Uint8Array(32),
    );
    const again = await createKeyBundle(secrets, {
      accountId: v.accountId as AccountId,
      role: v.role,
      createdAt: v.createdAt,
    });
    expect(toHex(again)).toBe(v.bundle);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('invalid: %s', async (_name, v) => {
    const code = await codeOf(() =>
      verifyKeyBundle(fromHex(v.bundle), v.expectedAccountId as AccountId | undefined),
    );
    expect(code).toBe(v.error);
  });

  it('parses structure without checking the signature', () => {
    const v = vectors.valid[0]!;
    const parsed = parseKeyBundle(fromHex(v.bundle));
    expect(parsed.signature).toHaveLength(64);
    expect(parsed.accountId).toBe(v.accountId);
  });
});
