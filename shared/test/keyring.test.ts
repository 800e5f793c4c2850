import { vectorFile } from './vector-files';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateAccountKeys, type AccountSecrets } from '../src/account';
import { concatBytes, fromHex, toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import { newId, type AccountId } from '../src/ids';
import {
  assertKdfFloor,
  assertKdfNotWeaker,
  decodeKdfParams,
  deriveLoginKeys,
  encodeKdfParams,
  fakeKdfSalt,
  newKdfParams,
  type KdfParams,
} from '../src/kdf';
import {
  KEYRING_PLAINTEXT_LENGTH,
  openKeyringWithPassword,
  readKeyringKdfParams,
  sealKeyringWithPassword,
} from '../src/keyring';
import type { KeyringKey } from '../src/keys';
import { randomBytes } from '../src/primitives/random';
import { openKeyringWithRecovery, parseRecoveryCode, recoveryKeyFromCode } from '../src/recovery';

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : `not a CarnetError: ${String(e)}`;
  }
}

function secretsHex(s: AccountSecrets): Record<string, string> {
  return {
    identitySeed: toHex(s.identityPrivateKey),
    identityPublicKey: toHex(s.identityPublicKey),
    encryptionPrivateKey: toHex(s.encryptionPrivateKey),
    encryptionPublicKey: toHex(s.encryptionPublicKey),
    accountKey: toHex(s.accountKey),
  };
}

const randomKey = (): KeyringKey => randomBytes(32) as KeyringKey;

async function setup() {
  const secrets = await generateAccountKeys();
  const accountId = newId<AccountId>();
  const params = newKdfParams();
  const keyringKey = randomKey();
  const sealed = sealKeyringWithPassword(secrets, keyringKey, params, accountId);
  return { secrets, accountId, params, keyringKey, sealed };
}

/** Replaces the clear KDF parameters of a sealed keyring, keeping its envelope. */
function withParams(sealed: Uint8Array, params: KdfParams): Uint8Array {
  const old = readKeyringKdfParams(sealed);
  const envelope = sealed.subarray(2 + encodeKdfParams(old).length);
  return concatBytes(sealed.subarray(0, 2), encodeKdfParams(params), envelope);
}

describe('password keyring', () => {
  it('round-trips the secrets', async () => {
    const { secrets, accountId, keyringKey, sealed, params } = await setup();
    const opened = await openKeyringWithPassword(sealed, keyringKey, accountId);
    expect(secretsHex(opened)).toEqual(secretsHex(secrets));
    expect(readKeyringKdfParams(sealed)).toEqual(params);
    // prefix ‖ params (11 + 16) ‖ envelope (2 + 24 + 32 + plaintext + 16)
    expect(sealed.length).toBe(2 + 27 + 2 + 24 + 32 + KEYRING_PLAINTEXT_LENGTH + 16);
    expect([sealed[0], sealed[1]]).toEqual([0x01, 0x02]);
  });

  it('runs the real login flow at the default parameters', async () => {
    const { secrets, accountId } = await setup();
    const params = newKdfParams();
    const signUp = await deriveLoginKeys('Tr0ub4dor&3', params);
    const sealed = sealKeyringWithPassword(secrets, signUp.keyringKey, params, accountId);
    // Login: check the parameters before deriving, then open.
    const seen = readKeyringKdfParams(sealed);
    assertKdfNotWeaker(seen, params);
    const login = await deriveLoginKeys('Tr0ub4dor&3', seen);
    expect(toHex(login.authKey)).toBe(toHex(signUp.authKey));
    const opened = await openKeyringWithPassword(sealed, login.keyringKey, accountId);
    expect(secretsHex(opened)).toEqual(secretsHex(secrets));
    const wrong = await deriveLoginKeys('Tr0ub4dor&4', seen);
    expect(await codeOf(() => openKeyringWithPassword(sealed, wrong.keyringKey, accountId))).toBe(
      'INTEGRITY',
    );
  });

  it('gives the same INTEGRITY for a wrong key, another account and a tampered byte', async () => {
    const { accountId, keyringKey, sealed } = await setup();
    const flipped = sealed.slice();
    flipped[sealed.length - 5] = (flipped[sealed.length - 5] as number) ^ 0x10;
    const results = [
      await codeOf(() => openKeyringWithPassword(sealed, randomKey(), accountId)),
      await codeOf(() => openKeyringWithPassword(sealed, keyringKey, newId<AccountId>())),
      await codeOf(() => openKeyringWithPassword(flipped, keyringKey, accountId)),
    ];
    expect(results).toEqual(['INTEGRITY', 'INTEGRITY', 'INTEGRITY']);
  });

  it('binds the KDF parameters: editing them fails with INTEGRITY', async () => {
    const { accountId, keyringKey, sealed, params } = await setup();
    const edits: KdfParams[] = [
      { ...params, iterations: 4 },
      { ...params, memoryKiB: 128 * 1024 },
      { ...params, parallelism: 2 },
      { ...params, salt: new Uint8Array(16) },
      { ...params, salt: concatBytes(params.salt, new Uint8Array(1)) },
    ];
    for (const edited of edits) {
      const t = withParams(sealed, edited);
      expect(readKeyringKdfParams(t)).toEqual(edited);
      expect(await codeOf(() => openKeyringWithPassword(t, keyringKey, accountId))).toBe(
        'INTEGRITY',
      );
    }
  });

  it('refuses parameters below the floor before decrypting', async () => {
    const { accountId, keyringKey, sealed, params } = await setup();
    for (const weak of [
      { ...params, memoryKiB: 32 * 1024 },
      { ...params, iterations: 2 },
    ]) {
      const t = withParams(sealed, weak);
      expect(await codeOf(() => assertKdfFloor(readKeyringKdfParams(t)))).toBe('KDF_TOO_WEAK');
      expect(await codeOf(() => openKeyringWithPassword(t, keyringKey, accountId))).toBe(
        'KDF_TOO_WEAK',
      );
    }
  });

  it('refuses to seal under parameters below the floor', async () => {
    const { secrets, accountId, params } = await setup();
    const weak = { ...params, iterations: 2 };
    expect(await codeOf(() => sealKeyringWithPassword(secrets, randomKey(), weak, accountId))).toBe(
      'KDF_TOO_WEAK',
    );
  });

  it('refuses structure errors with typed codes', async () => {
    const { accountId, keyringKey, sealed } = await setup();
    const open = (b: Uint8Array) => codeOf(() => openKeyringWithPassword(b, keyringKey, accountId));
    expect(await open(sealed.subarray(0, 1))).toBe('TRUNCATED');
    expect(await open(sealed.subarray(0, 10))).toBe('TRUNCATED');
    expect(await open(sealed.subarray(0, 29))).toBe('TRUNCATED'); // params, no envelope
    expect(await open(sealed.subarray(0, sealed.length - 1))).toBe('INTEGRITY');
    const kind = sealed.slice();
    kind[1] = 0x03;
    expect(await open(kind)).toBe('CONTEXT_MISMATCH');
    const format = sealed.slice();
    format[0] = 0x00;
    expect(await open(format)).toBe('DOWNGRADE');
  });

  it('refuses any random mutation with a CarnetError (property)', async () => {
    const { accountId, keyringKey, sealed } = await setup();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: sealed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (pos, x) => {
          const t = sealed.slice();
          t[pos] = (t[pos] as number) ^ x;
          const code = await codeOf(() => openKeyringWithPassword(t, keyringKey, accountId));
          expect(code).toMatch(
            /^(INTEGRITY|FORMAT|TRUNCATED|DOWNGRADE|CONTEXT_MISMATCH|KDF_TOO_WEAK)$/,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

interface SecretsJson {
  identitySeed: string;
  identityPublicKey: string;
  encryptionPrivateKey: string;
  encryptionPublicKey: string;
  accountKey: string;
}
interface KeyringVectors {
  password: {
    valid: {
      name: string;
      accountId: string;
      keyringKey: string;
      sealed: string;
      secrets: SecretsJson;
      kdfParams: { memoryKiB: number; iterations: number; parallelism: number; salt: string };
    }[];
    invalid: {
      name: string;
      accountId: string;
      keyringKey: string;
      sealed: string;
      error: string;
    }[];
  };
  recovery: {
    valid: {
      name: string;
      accountId: string;
      recoveryCode: string;
      sealed: string;
      secrets: SecretsJson;
    }[];
    invalid: {
      name: string;
      accountId: string;
      recoveryCode: string;
      sealed: string;
      error: string;
    }[];
  };
  recoveryCodes: {
    valid: { input: string; canonical: string; recoveryKey: string }[];
    invalid: { name: string; input: string; error: string }[];
  };
  kdf: {
    valid: {
      name: string;
      password: string;
      params: string;
      authKey: string;
      keyringKey: string;
    }[];
    invalid: { name: string; params: string; error: string }[];
  };
  fakeSalts: { serverSecret: string; userName: string; salt: string }[];
}

describe('keyring.v1.json', () => {
  const v = vectorFile<KeyringVectors>('keyring.v1.json');
  const id = (s: string) => s as AccountId;
  const named = <T extends { name: string }>(list: T[]) => list.map((e) => [e.name, e] as const);

  it('has valid and invalid entries in every section', () => {
    for (const section of [v.password, v.recovery, v.recoveryCodes, v.kdf]) {
      expect(section.valid.length).toBeGreaterThan(0);
      expect(section.invalid.length).toBeGreaterThan(0);
    }
    expect(v.fakeSalts.length).toBeGreaterThan(0);
  });

  it.each(named(v.password.valid))('password valid: %s', async (_n, e) => {
    const sealed = fromHex(e.sealed);
    const params = readKeyringKdfParams(sealed);
    expect({ ...params, salt: toHex(params.salt) }).toEqual({ alg: 'argon2id', ...e.kdfParams });
    const opened = await openKeyringWithPassword(
      sealed,
      fromHex(e.keyringKey) as KeyringKey,
      id(e.accountId),
    );
    expect(secretsHex(opened)).toEqual(e.secrets);
  });

  it.each(named(v.password.invalid))('password invalid: %s', async (_n, e) => {
    const code = await codeOf(() =>
      openKeyringWithPassword(
        fromHex(e.sealed),
        fromHex(e.keyringKey) as KeyringKey,
        id(e.accountId),
      ),
    );
    expect(code).toBe(e.error);
  });

  it.each(named(v.recovery.valid))('recovery valid: %s', async (_n, e) => {
    const opened = await openKeyringWithRecovery(
      fromHex(e.sealed),
      e.recoveryCode,
      id(e.accountId),
    );
    expect(secretsHex(opened)).toEqual(e.secrets);
  });

  it.each(named(v.recovery.invalid))('recovery invalid: %s', async (_n, e) => {
    const code = await codeOf(() =>
      openKeyringWithRecovery(fromHex(e.sealed), e.recoveryCode, id(e.accountId)),
    );
    expect(code).toBe(e.error);
  });

  it.each(v.recoveryCodes.valid.map((e) => [e.input, e] as const))(
    'recovery code valid: %s',
    (_n, e) => {
      expect(parseRecoveryCode(e.input)).toBe(e.canonical);
      expect(toHex(recoveryKeyFromCode(e.input))).toBe(e.recoveryKey);
    },
  );

  it.each(named(v.recoveryCodes.invalid))('recovery code invalid: %s', async (_n, e) => {
    expect(await codeOf(() => parseRecoveryCode(e.input))).toBe(e.error);
  });

  it.each(named(v.kdf.valid))('kdf valid (64 MiB, t = 3): %s', async (_n, e) => {
    const params = decodeKdfParams(fromHex(e.params));
    assertKdfFloor(params);
    const keys = await deriveLoginKeys(e.password, params);
    expect(toHex(keys.authKey)).toBe(e.authKey);
    expect(toHex(keys.keyringKey)).toBe(e.keyringKey);
  });

  it.each(named(v.kdf.invalid))('kdf invalid: %s', async (_n, e) => {
    expect(await codeOf(() => assertKdfFloor(decodeKdfParams(fromHex(e.params))))).toBe(e.error);
  });

  it.each(v.fakeSalts.map((e) => [e.userName, e] as const))('fake salt: %s', (_n, e) => {
    expect(toHex(fakeKdfSalt(fromHex(e.serverSecret), e.userName))).toBe(e.salt);
  });
});
