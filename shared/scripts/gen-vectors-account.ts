/**
 * Writes shared/vectors/key-bundle.v1.json and shared/vectors/keyring.v1.json.
 *
 *     cd shared && npx tsx scripts/gen-vectors-account.ts
 *
 * Keys come from fixed seeds, so the key-bundle file is reproducible byte for byte (Ed25519 is
 * deterministic). Sealed keyrings use random envelope nonces, so they change on every run;
 * what stays fixed is that each valid entry opens to the listed secrets and each invalid one
 * fails with the listed code.
 *
 * Keyring entries store the derived `keyringKey`, not a password: the floor forbids cheap
 * Argon2 parameters, so the password → key step has its own list (`kdf`) with the real
 * default parameters.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { concatBytes, lp, toBase64url, toHex, u32, utf8 } from '../src/bytes';
import type { AccountId } from '../src/ids';
import {
  accountSecretsFromPrivate,
  createKeyBundle,
  KEY_BUNDLE_SIGNATURE_DOMAIN,
  ROLE,
  type AccountSecrets,
  type Role,
} from '../src/account';
import { fingerprint, fingerprintBytes } from '../src/safety-code';
import {
  deriveLoginKeys,
  encodeKdfParams,
  fakeKdfSalt,
  KDF_DEFAULTS,
  type KdfParams,
} from '../src/kdf';
import type { KeyringKey } from '../src/keys';
import { sealKeyringWithPassword } from '../src/keyring';
import { encodeRecoveryCode, recoveryKeyFromCode, sealKeyringWithRecovery } from '../src/recovery';
import { sha256 } from '../src/primitives/sha2';
import { ed25519Sign } from '../src/primitives/ed25519';

const OUT = fileURLToPath(new URL('../vectors/', import.meta.url));

/** 32 deterministic bytes for a label. */
const det = (label: string): Uint8Array => sha256(utf8(`carnet vector ${label}`));
const accountIdOf = (label: string): AccountId => toBase64url(det(label).slice(0, 16)) as AccountId;

async function secretsOf(label: string): Promise<AccountSecrets> {
  return accountSecretsFromPrivate(
    det(`${label}/identity`),
    det(`${label}/encryption`),
    det(`${label}/account-key`),
  );
}

function secretsJson(s: AccountSecrets): Record<string, string> {
  return {
    identitySeed: toHex(s.identityPrivateKey),
    identityPublicKey: toHex(s.identityPublicKey),
    encryptionPrivateKey: toHex(s.encryptionPrivateKey),
    encryptionPublicKey: toHex(s.encryptionPublicKey),
    accountKey: toHex(s.accountKey),
  };
}

const withByte = (b: Uint8Array, i: number, v: number): Uint8Array => {
  const c = b.slice();
  c[i] = v;
  return c;
};
const flip = (b: Uint8Array, i: number): Uint8Array => withByte(b, i, (b[i] as number) ^ 0x01);

/** Signs an arbitrary body as a bundle would be signed (for validly signed but bad bundles). */
async function signBody(seed: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
  const msg = concatBytes(lp(utf8(KEY_BUNDLE_SIGNATURE_DOMAIN)), body);
  return concatBytes(body, await ed25519Sign(seed, msg));
}

async function keyBundleVectors(): Promise<unknown> {
  const valid: unknown[] = [];
  const roles: Role[] = ['practitioner', 'patient', 'support'];
  const bundles: Uint8Array[] = [];
  for (const [i, role] of roles.entries()) {
    const label = `bundle-${role}`;
    const secrets = await secretsOf(label);
    const accountId = accountIdOf(label);
    const createdAt = 1_767_225_600_000 + i * 86_400_000; // 2026-01-01T00:00Z + i days
    const bundle = await createKeyBundle(secrets, { accountId, role, createdAt });
    bundles.push(bundle);
    valid.push({
      name: `${role} bundle`,
      identitySeed: toHex(secrets.identityPrivateKey),
      encryptionPrivateKey: toHex(secrets.encryptionPrivateKey),
      accountId,
      role,
      createdAt,
      identityPublicKey: toHex(secrets.identityPublicKey),
      encryptionPublicKey: toHex(secrets.encryptionPublicKey),
      bundle: toHex(bundle),
      fingerprint: toHex(fingerprintBytes(bundle)),
      safetyCode: fingerprint(bundle),
    });
  }
  const good = bundles[0]!;
  const other = bundles[1]!;
  const seed = (await secretsOf('bundle-practitioner')).identityPrivateKey;
  const body = good.subarray(0, 91);
  const lowOrderX = new Uint8Array(32); // u = 0
  const identityPoint = new Uint8Array(32);
  identityPoint[0] = 1;
  // Small-order identity key with the trivial signature (R = identity, S = 0) that a
  // cofactored verifier (OpenSSL's WebCrypto) accepts for any message.
  const trivialSig = new Uint8Array(64);
  trivialSig[0] = 1;
  const smallOrder = concatBytes(
    body.subarray(0, 27),
    identityPoint,
    body.subarray(59, 91),
    trivialSig,
  );
  const invalid = [
    { name: 'signature byte flipped', bundle: flip(good, 154), error: 'KEY_UNVERIFIED' },
    { name: 'creation time edited', bundle: flip(good, 26), error: 'KEY_UNVERIFIED' },
    { name: 'account id edited', bundle: flip(good, 2), error: 'KEY_UNVERIFIED' },
    {
      name: 'role changed to patient',
      bundle: withByte(good, 18, ROLE.patient),
      error: 'KEY_UNVERIFIED',
    },
    {
      name: "encryption key swapped for another account's",
      bundle: concatBytes(good.subarray(0, 59), other.subarray(59, 91), good.subarray(91)),
      error: 'KEY_UNVERIFIED',
    },
    {
      name: "identity key swapped for another account's",
      bundle: concatBytes(good.subarray(0, 27), other.subarray(27, 59), good.subarray(59)),
      error: 'KEY_UNVERIFIED',
    },
    {
      name: 'bundle of another account',
      bundle: good,
      expectedAccountId: accountIdOf('bundle-patient'),
      error: 'KEY_UNVERIFIED',
    },
    {
      name: 'low-order X25519 key, validly signed',
      bundle: await signBody(seed, concatBytes(body.subarray(0, 59), lowOrderX)),
      error: 'KEY_UNVERIFIED',
    },
    {
      name: 'small-order Ed25519 identity key, trivial signature',
      bundle: smallOrder,
      error: 'KEY_UNVERIFIED',
    },
    { name: 'unknown role byte', bundle: withByte(good, 18, 0x09), error: 'FORMAT' },
    { name: 'truncated by one byte', bundle: good.subarray(0, 154), error: 'TRUNCATED' },
    { name: 'only the prefix', bundle: good.subarray(0, 2), error: 'TRUNCATED' },
    { name: 'empty', bundle: new Uint8Array(0), error: 'TRUNCATED' },
    { name: 'trailing byte', bundle: concatBytes(good, new Uint8Array([0])), error: 'FORMAT' },
    {
      name: 'format byte 0x00 (older than the minimum)',
      bundle: withByte(good, 0, 0x00),
      error: 'DOWNGRADE',
    },
    { name: 'unknown format byte 0x02', bundle: withByte(good, 0, 0x02), error: 'FORMAT' },
    { name: 'kind byte of a keyring', bundle: withByte(good, 1, 0x02), error: 'CONTEXT_MISMATCH' },
    { name: 'unknown kind byte', bundle: withByte(good, 1, 0x7f), error: 'FORMAT' },
    {
      name: 'creation time beyond 2^53',
      bundle: await signBody(
        seed,
        concatBytes(
          body.subarray(0, 19),
          new Uint8Array([0, 0x20, 0, 0, 0, 0, 0, 0]),
          body.subarray(27),
        ),
      ),
      error: 'FORMAT',
    },
  ].map((v) => ({ ...v, bundle: toHex(v.bundle) }));
  return {
    description:
      'Carnet key bundle, format v1 (docs/protocol-parts/20-accounts-keyring.md). Valid entries must verify to the listed fields and safety code; invalid entries must be refused with the listed CarnetError code (verifyKeyBundle(bundle, expectedAccountId)).',
    valid,
    invalid,
  };
}

async function keyringVectors(): Promise<unknown> {
  const accountId = accountIdOf('keyring');
  const secrets = await secretsOf('keyring');
  const params: KdfParams = {
    alg: 'argon2id',
    ...KDF_DEFAULTS,
    salt: det('keyring/salt').slice(0, 16),
  };
  const keyringKey = det('keyring/keyring-key') as KeyringKey;
  const sealed = sealKeyringWithPassword(secrets, keyringKey, params, accountId);
  const encoded = encodeKdfParams(params);
  const stronger = encodeKdfParams({ ...params, iterations: 4 });
  const weaker = encodeKdfParams({ ...params, memoryKiB: 32 * 1024 });
  const envelope = sealed.subarray(2 + encoded.length);
  const prefix = sealed.subarray(0, 2);
  const otherAccount = accountIdOf('keyring-other');
  const pw = (
    name: string,
    bytes: Uint8Array,
    error: string,
    extra: Record<string, string> = {},
  ) => ({
    name,
    accountId,
    keyringKey: toHex(keyringKey),
    sealed: toHex(bytes),
    error,
    ...extra,
  });
  const password = {
    valid: [
      {
        name: 'default parameters',
        accountId,
        keyringKey: toHex(keyringKey),
        kdfParams: {
          memoryKiB: params.memoryKiB,
          iterations: params.iterations,
          parallelism: params.parallelism,
          salt: toHex(params.salt),
        },
        sealed: toHex(sealed),
        secrets: secretsJson(secrets),
      },
    ],
    invalid: [
      pw('wrong keyring key', sealed, 'INTEGRITY', { keyringKey: toHex(det('keyring/wrong-key')) }),
      pw('another account', sealed, 'INTEGRITY', { accountId: otherAccount }),
      pw('iterations edited 3 -> 4', concatBytes(prefix, stronger, envelope), 'INTEGRITY'),
      pw('salt byte edited', flip(sealed, 2 + 11), 'INTEGRITY'),
      pw('memory edited below the floor', concatBytes(prefix, weaker, envelope), 'KDF_TOO_WEAK'),
      pw('ciphertext byte flipped', flip(sealed, sealed.length - 20), 'INTEGRITY'),
      pw('tag byte flipped', flip(sealed, sealed.length - 1), 'INTEGRITY'),
      pw('truncated inside the parameters', sealed.subarray(0, 8), 'TRUNCATED'),
      pw('unknown KDF algorithm byte', withByte(sealed, 2, 0x02), 'FORMAT'),
      pw('format byte 0x00', withByte(sealed, 0, 0x00), 'DOWNGRADE'),
      pw('recovery kind byte', withByte(sealed, 1, 0x03), 'CONTEXT_MISMATCH'),
    ],
  };

  const code = encodeRecoveryCode(
    det('keyring/recovery')
      .slice(0, 26)
      .map((b) => b & 31),
  );
  const wrongCode = encodeRecoveryCode(
    det('keyring/recovery-wrong')
      .slice(0, 26)
      .map((b) => b & 31),
  );
  const rsealed = sealKeyringWithRecovery(secrets, code, accountId);
  const rc = (
    name: string,
    bytes: Uint8Array,
    error: string,
    extra: Record<string, string> = {},
  ) => ({
    name,
    accountId,
    recoveryCode: code,
    sealed: toHex(bytes),
    error,
    ...extra,
  });
  const recovery = {
    valid: [
      {
        name: 'recovery code as shown',
        accountId,
        recoveryCode: code,
        sealed: toHex(rsealed),
        secrets: secretsJson(secrets),
      },
      {
        name: 'recovery code typed in lower case without dashes, O for 0',
        accountId,
        recoveryCode: code.replace(/-/g, ' ').toLowerCase().replace(/0/g, 'o'),
        sealed: toHex(rsealed),
        secrets: secretsJson(secrets),
      },
    ],
    invalid: [
      rc('well-formed but wrong code', rsealed, 'INTEGRITY', { recoveryCode: wrongCode }),
      rc('one symbol mistyped', rsealed, 'BAD_RECOVERY_CODE', { recoveryCode: mistype(code) }),
      rc('another account', rsealed, 'INTEGRITY', { accountId: otherAccount }),
      rc('nonce byte flipped', flip(rsealed, 5), 'INTEGRITY'),
      rc('commitment byte flipped', flip(rsealed, 30), 'INTEGRITY'),
      rc('ciphertext byte flipped', flip(rsealed, rsealed.length - 30), 'INTEGRITY'),
      rc('password kind byte', withByte(rsealed, 1, 0x02), 'CONTEXT_MISMATCH'),
      rc('truncated', rsealed.subarray(0, 40), 'TRUNCATED'),
    ],
  };

  const codes = [0, 1, 2].map((i) =>
    encodeRecoveryCode(
      det(`code/${i}`)
        .slice(0, 26)
        .map((b) => b & 31),
    ),
  );
  const recoveryCodes = {
    valid: codes
      .map((c) => ({ input: c, canonical: c, recoveryKey: toHex(recoveryKeyFromCode(c)) }))
      .concat([
        {
          input: ` ${codes[0]!.toLowerCase().replace(/-/g, '')} `,
          canonical: codes[0]!,
          recoveryKey: toHex(recoveryKeyFromCode(codes[0]!)),
        },
      ]),
    invalid: [
      { name: 'substitution', input: mistype(codes[0]!), error: 'BAD_RECOVERY_CODE' },
      { name: 'adjacent swap', input: swapFirstDistinct(codes[1]!), error: 'BAD_RECOVERY_CODE' },
      { name: 'missing symbol', input: codes[2]!.slice(0, -1), error: 'BAD_RECOVERY_CODE' },
      { name: 'extra symbol', input: `${codes[2]!}0`, error: 'BAD_RECOVERY_CODE' },
      {
        name: 'U is not a Crockford symbol',
        input: `U${codes[2]!.slice(1)}`,
        error: 'BAD_RECOVERY_CODE',
      },
      { name: 'empty', input: '', error: 'BAD_RECOVERY_CODE' },
    ],
  };

  const kdfValid: unknown[] = [];
  const kdfInputs: [string, string][] = [
    ['ascii password', 'correct horse battery staple'],
    ['NFC password', 'Mot de passe d\u00e9j\u00e0 vu \u2013 \u00c9lodie'],
    [
      'same password in NFD (must give the same keys)',
      'Mot de passe de\u0301ja\u0300 vu \u2013 E\u0301lodie',
    ],
  ];
  const kdfParams: KdfParams = {
    alg: 'argon2id',
    ...KDF_DEFAULTS,
    salt: det('kdf/salt').slice(0, 16),
  };
  for (const [name, passwordText] of kdfInputs) {
    const keys = await deriveLoginKeys(passwordText, kdfParams);
    kdfValid.push({
      name,
      password: passwordText,
      params: toHex(encodeKdfParams(kdfParams)),
      authKey: toHex(keys.authKey),
      keyringKey: toHex(keys.keyringKey),
    });
  }
  const base = encodeKdfParams(kdfParams);
  const kdf = {
    valid: kdfValid,
    invalid: [
      {
        name: 'memory 32 MiB',
        params: toHex(encodeKdfParams({ ...kdfParams, memoryKiB: 32 * 1024 })),
        error: 'KDF_TOO_WEAK',
      },
      {
        name: 'iterations 2',
        params: toHex(encodeKdfParams({ ...kdfParams, iterations: 2 })),
        error: 'KDF_TOO_WEAK',
      },
      {
        name: '8-byte salt',
        params: toHex(encodeKdfParams({ ...kdfParams, salt: kdfParams.salt.slice(0, 8) })),
        error: 'KDF_TOO_WEAK',
      },
      {
        name: 'memory 2 GiB (beyond the ceiling)',
        params: toHex(concatBytes(base.subarray(0, 1), u32(2 * 1024 * 1024), base.subarray(5))),
        error: 'FORMAT',
      },
      { name: 'parallelism 0', params: toHex(withByte(base, 9, 0)), error: 'FORMAT' },
      { name: 'unknown algorithm', params: toHex(withByte(base, 0, 0x02)), error: 'FORMAT' },
      {
        name: 'truncated salt',
        params: toHex(base.subarray(0, base.length - 1)),
        error: 'TRUNCATED',
      },
      {
        name: 'trailing byte',
        params: toHex(concatBytes(base, new Uint8Array([0]))),
        error: 'FORMAT',
      },
    ],
  };

  const serverSecret = det('fake-salt/server-secret');
  const fakeSalts = ['alice@example.org', 'bob@example.org', 'Élodie'].map((userName) => ({
    serverSecret: toHex(serverSecret),
    userName,
    salt: toHex(fakeKdfSalt(serverSecret, userName)),
  }));

  return {
    description:
      'Carnet keyrings, format v1 (docs/protocol-parts/20-accounts-keyring.md). password/recovery: valid entries open to the listed secrets, invalid ones fail with the listed CarnetError code. recoveryCodes: parseRecoveryCode / recoveryKeyFromCode. kdf: deriveLoginKeys(password, decodeKdfParams(params)) with the real default parameters; invalid entries fail decodeKdfParams + assertKdfFloor. fakeSalts: fakeKdfSalt(serverSecret, userName).',
    password,
    recovery,
    recoveryCodes,
    kdf,
    fakeSalts,
  };
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Replaces the 5th symbol with the next one in the alphabet. */
function mistype(code: string): string {
  const i = 5; // after the first dash
  const next = ALPHABET[(ALPHABET.indexOf(code[i]!) + 1) % 32]!;
  return code.slice(0, i) + next + code.slice(i + 1);
}
/** Swaps the first two adjacent, different symbols within a group. */
function swapFirstDistinct(code: string): string {
  for (let i = 0; i + 1 < code.length; i++) {
    const a = code[i]!;
    const b = code[i + 1]!;
    if (a !== '-' && b !== '-' && a !== b) return code.slice(0, i) + b + a + code.slice(i + 2);
  }
  throw new Error('no distinct adjacent symbols');
}

writeFileSync(`${OUT}key-bundle.v1.json`, JSON.stringify(await keyBundleVectors(), null, 2) + '\n');
writeFileSync(`${OUT}keyring.v1.json`, JSON.stringify(await keyringVectors(), null, 2) + '\n');
process.stdout.write('wrote key-bundle.v1.json and keyring.v1.json\n');
