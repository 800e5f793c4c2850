/**
 * HPKE (RFC 9180), single-shot, modes base (0) and auth (2), KEM DHKEM(X25519, HKDF-SHA256),
 * KDF HKDF-SHA256, AEAD ChaCha20-Poly1305. AES-128-GCM (noble) and export-only are implemented
 * too, only so that every RFC test vector of these suites can be checked. Internal to the
 * package: formats use `wrap.ts`, which fixes the suite and binds `info` to the context.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { concatBytes, u16, utf8 } from './bytes';
import { CarnetError, integrityError, invalidArgument, isCarnetError } from './errors';
import { chacha20poly1305Open, chacha20poly1305Seal } from './primitives/aead';
import { hkdfExpandSha256, hkdfExtractSha256 } from './primitives/sha2';
import { X25519_LEN, x25519, x25519Ephemeral, x25519PublicKey } from './primitives/x25519';

/** HPKE mode identifiers (RFC 9180 §5). PSK modes are not implemented. */
export const HPKE_MODE = { BASE: 0x00, AUTH: 0x02 } as const;
/** A supported HPKE mode. */
export type HpkeMode = (typeof HPKE_MODE)[keyof typeof HPKE_MODE];

/** AEAD identifiers (RFC 9180 §7.3). */
export const HPKE_AEAD = {
  AES128GCM: 0x0001,
  CHACHA20POLY1305: 0x0003,
  EXPORT_ONLY: 0xffff,
} as const;
/** A supported AEAD identifier. */
export type HpkeAeadId = (typeof HPKE_AEAD)[keyof typeof HPKE_AEAD];

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const N_SECRET = 32;
const N_H = 32;
const HPKE_V1 = utf8('HPKE-v1');
const KEM_SUITE = concatBytes(utf8('KEM'), u16(KEM_ID));
const EMPTY = new Uint8Array(0);
const AEAD_PARAMS: Record<HpkeAeadId, { nk: number; nn: number }> = {
  [HPKE_AEAD.AES128GCM]: { nk: 16, nn: 12 },
  [HPKE_AEAD.CHACHA20POLY1305]: { nk: 32, nn: 12 },
  [HPKE_AEAD.EXPORT_ONLY]: { nk: 0, nn: 0 },
};

function hpkeSuite(aead: HpkeAeadId): Uint8Array {
  return concatBytes(utf8('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(aead));
}

function labeledExtract(
  suite: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Uint8Array {
  return hkdfExtractSha256(concatBytes(HPKE_V1, suite, utf8(label), ikm), salt);
}

function labeledExpand(
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  len: number,
): Uint8Array {
  return hkdfExpandSha256(prk, concatBytes(u16(len), HPKE_V1, suite, utf8(label), info), len);
}

/** DeriveKeyPair (RFC 9180 §7.1.3) for X25519: deterministic key pair from `ikm`. */
export async function hpkeDeriveKeyPair(
  ikm: Uint8Array,
): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'dkp_prk', ikm);
  const privateKey = labeledExpand(KEM_SUITE, prk, 'sk', EMPTY, N_SECRET);
  return { privateKey, publicKey: await x25519PublicKey(privateKey) };
}

function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, EMPTY, 'eae_prk', dh);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', kemContext, N_SECRET);
}

/** Values of the key schedule, exposed for the RFC vector tests. */
export interface HpkeSchedule {
  sharedSecret: Uint8Array;
  keyScheduleContext: Uint8Array;
  secret: Uint8Array;
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

function keySchedule(
  aead: HpkeAeadId,
  mode: HpkeMode,
  sharedSecret: Uint8Array,
  info: Uint8Array,
): HpkeSchedule {
  const suite = hpkeSuite(aead);
  const { nk, nn } = AEAD_PARAMS[aead];
  // psk and psk_id are empty in modes base and auth (RFC 9180 §5.1).
  const pskIdHash = labeledExtract(suite, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(suite, EMPTY, 'info_hash', info);
  const keyScheduleContext = concatBytes(new Uint8Array([mode]), pskIdHash, infoHash);
  const secret = labeledExtract(suite, sharedSecret, 'secret', EMPTY);
  return {
    sharedSecret,
    keyScheduleContext,
    secret,
    key: labeledExpand(suite, secret, 'key', keyScheduleContext, nk),
    baseNonce: labeledExpand(suite, secret, 'base_nonce', keyScheduleContext, nn),
    exporterSecret: labeledExpand(suite, secret, 'exp', keyScheduleContext, N_H),
  };
}

/** An HPKE encryption context (RFC 9180 §5.2), for one direction. */
export class HpkeContext {
  private seq = 0;

  constructor(
    readonly aead: HpkeAeadId,
    readonly schedule: HpkeSchedule,
  ) {}

  /** base_nonce XOR I2OSP(seq, Nn). */
  nonce(seq: number): Uint8Array {
    const out = Uint8Array.from(this.schedule.baseNonce);
    let s = seq;
    for (let i = out.length - 1; i >= 0 && s > 0; i--) {
      out[i] = (out[i] as number) ^ (s % 256);
      s = Math.floor(s / 256);
    }
    return out;
  }

  private next(): Uint8Array {
    if (this.aead === HPKE_AEAD.EXPORT_ONLY)
      throw new CarnetError('UNSUPPORTED', 'Export-only HPKE context.');
    if (!Number.isSafeInteger(this.seq + 1))
      throw new CarnetError('UNSUPPORTED', 'HPKE sequence overflow.');
    return this.nonce(this.seq);
  }

  /** Seal with the next sequence number. */
  seal(aad: Uint8Array, pt: Uint8Array): Uint8Array {
    const nonce = this.next();
    const { key } = this.schedule;
    const ct =
      this.aead === HPKE_AEAD.AES128GCM
        ? gcm(key, nonce, aad).encrypt(pt)
        : chacha20poly1305Seal(key, nonce, pt, aad);
    this.seq++;
    return ct;
  }

  /** Open with the next sequence number; `INTEGRITY` on failure (the sequence does not advance). */
  open(aad: Uint8Array, ct: Uint8Array): Uint8Array {
    const nonce = this.next();
    const { key } = this.schedule;
    let pt: Uint8Array;
    if (this.aead === HPKE_AEAD.AES128GCM) {
      try {
        pt = gcm(key, nonce, aad).decrypt(ct);
      } catch {
        throw integrityError();
      }
    } else {
      pt = chacha20poly1305Open(key, nonce, ct, aad);
    }
    this.seq++;
    return pt;
  }

  /** Secret export (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    return labeledExpand(
      hpkeSuite(this.aead),
      this.schedule.exporterSecret,
      'sec',
      exporterContext,
      length,
    );
  }
}

/** Sender side: encapsulation plus key schedule. `ikmE` makes the ephemeral key deterministic (tests only). */
export async function hpkeSetupSender(a: {
  aead: HpkeAeadId;
  recipientPublicKey: Uint8Array;
  info: Uint8Array;
  senderPrivateKey?: Uint8Array;
  ikmE?: Uint8Array;
}): Promise<{ enc: Uint8Array; context: HpkeContext }> {
  const pkR = a.recipientPublicKey;
  if (!(pkR instanceof Uint8Array) || pkR.length !== X25519_LEN)
    throw invalidArgument('recipientPublicKey', '32 bytes');
  try {
    let enc: Uint8Array;
    let dh: Uint8Array;
    if (a.ikmE === undefined) {
      ({ publicKey: enc, shared: dh } = await x25519Ephemeral(pkR));
    } else {
      const eph = await hpkeDeriveKeyPair(a.ikmE);
      enc = eph.publicKey;
      dh = await x25519(eph.privateKey, pkR);
    }
    let kemContext = concatBytes(enc, pkR);
    let mode: HpkeMode = HPKE_MODE.BASE;
    if (a.senderPrivateKey !== undefined) {
      const pkS = await x25519PublicKey(a.senderPrivateKey);
      dh = concatBytes(dh, await x25519(a.senderPrivateKey, pkR));
      kemContext = concatBytes(kemContext, pkS);
      mode = HPKE_MODE.AUTH;
    }
    const schedule = keySchedule(a.aead, mode, extractAndExpand(dh, kemContext), a.info);
    return { enc, context: new HpkeContext(a.aead, schedule) };
  } catch (e) {
    // A low-order recipient key is the caller's mistake when sealing, not a decryption failure.
    if (isCarnetError(e, 'INTEGRITY'))
      throw invalidArgument('recipientPublicKey', 'a valid X25519 public key');
    throw e;
  }
}

/**
 * Recipient side: decapsulation plus key schedule. `recipientPublicKey`, when the caller
 * already has it, saves one scalar multiplication. Any failure of `enc` is `INTEGRITY`.
 */
export async function hpkeSetupReceiver(a: {
  aead: HpkeAeadId;
  recipientPrivateKey: Uint8Array;
  recipientPublicKey?: Uint8Array;
  enc: Uint8Array;
  info: Uint8Array;
  senderPublicKey?: Uint8Array;
}): Promise<HpkeContext> {
  const skR = a.recipientPrivateKey;
  if (!(skR instanceof Uint8Array) || skR.length !== X25519_LEN)
    throw invalidArgument('recipientPrivateKey', '32 bytes');
  if (!(a.enc instanceof Uint8Array) || a.enc.length !== X25519_LEN) throw integrityError();
  const pkR = a.recipientPublicKey ?? (await x25519PublicKey(skR));
  let dh = await x25519(skR, a.enc);
  let kemContext = concatBytes(a.enc, pkR);
  let mode: HpkeMode = HPKE_MODE.BASE;
  if (a.senderPublicKey !== undefined) {
    if (!(a.senderPublicKey instanceof Uint8Array) || a.senderPublicKey.length !== X25519_LEN)
      throw integrityError();
    dh = concatBytes(dh, await x25519(skR, a.senderPublicKey));
    kemContext = concatBytes(kemContext, a.senderPublicKey);
    mode = HPKE_MODE.AUTH;
  }
  return new HpkeContext(
    a.aead,
    keySchedule(a.aead, mode, extractAndExpand(dh, kemContext), a.info),
  );
}

/**
 * Single-shot HPKE seal with ChaCha20-Poly1305: base mode, or auth mode when
 * `senderPrivateKey` is given.
 */
export async function hpkeSeal(a: {
  recipientPublicKey: Uint8Array;
  info: Uint8Array;
  aad: Uint8Array;
  plaintext: Uint8Array;
  senderPrivateKey?: Uint8Array;
}): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  const { enc, context } = await hpkeSetupSender({ aead: HPKE_AEAD.CHACHA20POLY1305, ...a });
  return { enc, ciphertext: context.seal(a.aad, a.plaintext) };
}

/** Single-shot HPKE open (auth mode when `senderPublicKey` is given); `INTEGRITY` on failure. */
export async function hpkeOpen(a: {
  recipientPrivateKey: Uint8Array;
  enc: Uint8Array;
  info: Uint8Array;
  aad: Uint8Array;
  ciphertext: Uint8Array;
  senderPublicKey?: Uint8Array;
}): Promise<Uint8Array> {
  const context = await hpkeSetupReceiver({ aead: HPKE_AEAD.CHACHA20POLY1305, ...a });
  return context.open(a.aad, a.ciphertext);
}
