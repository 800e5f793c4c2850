/**
 * RFC 9180 test vectors (handout file hpke-x25519.json: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * modes base and auth, AEADs AES-128-GCM, ChaCha20-Poly1305 and export-only), on both X25519
 * backends, plus the single-shot API's failure behaviour.
 */
import { vectorFile } from './vector-files';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import {
  HPKE_AEAD,
  hpkeDeriveKeyPair,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupReceiver,
  hpkeSetupSender,
} from '../src/hpke';
import type { HpkeAeadId, HpkeContext } from '../src/hpke';
import { setBackend } from '../src/primitives/backend';
import { x25519Keygen } from '../src/primitives/x25519';

interface RfcVector {
  mode: number;
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmR: string;
  ikmE: string;
  ikmS?: string;
  skRm: string;
  skEm: string;
  skSm?: string;
  pkRm: string;
  pkEm: string;
  pkSm?: string;
  enc: string;
  shared_secret: string;
  key_schedule_context: string;
  secret: string;
  key: string;
  base_nonce: string;
  exporter_secret: string;
  encryptions: { aad: string; ct: string; nonce: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

/** Missing handout folder = loud failure, never a skip. */
const VECTORS = vectorFile<RfcVector[]>('hpke-x25519.json');

const SEQ_COUNT = 257;

afterAll(() => setBackend('auto'));

function schedule(c: HpkeContext): Record<string, string> {
  const s = c.schedule;
  return {
    shared_secret: toHex(s.sharedSecret),
    key_schedule_context: toHex(s.keyScheduleContext),
    secret: toHex(s.secret),
    key: toHex(s.key),
    base_nonce: toHex(s.baseNonce),
    exporter_secret: toHex(s.exporterSecret),
  };
}

describe('RFC 9180 vectors', () => {
  it('cover the six suites and modes the handout promises', () => {
    expect(VECTORS.map((v) => `${v.mode}/${v.aead_id}`)).toEqual([
      '0/1',
      '2/1',
      '0/3',
      '2/3',
      '0/65535',
      '2/65535',
    ]);
  });

  describe.each(['webcrypto', 'noble'] as const)('backend %s', (backend) => {
    it.each(VECTORS.map((v, i) => [`#${i} mode ${v.mode} aead ${v.aead_id}`, v] as const))(
      '%s',
      async (_name, v) => {
        setBackend(backend);
        expect([v.kem_id, v.kdf_id]).toEqual([0x20, 1]);
        const aead = v.aead_id as HpkeAeadId;
        const info = fromHex(v.info);
        const expected = {
          shared_secret: v.shared_secret,
          key_schedule_context: v.key_schedule_context,
          secret: v.secret,
          key: v.key,
          base_nonce: v.base_nonce,
          exporter_secret: v.exporter_secret,
        };

        // DeriveKeyPair from every ikm.
        const r = await hpkeDeriveKeyPair(fromHex(v.ikmR));
        const e = await hpkeDeriveKeyPair(fromHex(v.ikmE));
        expect([toHex(r.privateKey), toHex(r.publicKey)]).toEqual([v.skRm, v.pkRm]);
        expect([toHex(e.privateKey), toHex(e.publicKey)]).toEqual([v.skEm, v.pkEm]);
        let senderPrivateKey: Uint8Array | undefined;
        let senderPublicKey: Uint8Array | undefined;
        if (v.mode === 2) {
          const s = await hpkeDeriveKeyPair(fromHex(v.ikmS ?? ''));
          expect([toHex(s.privateKey), toHex(s.publicKey)]).toEqual([v.skSm, v.pkSm]);
          senderPrivateKey = s.privateKey;
          senderPublicKey = s.publicKey;
        } else {
          expect(v.mode).toBe(0);
        }

        const sender = await hpkeSetupSender({
          aead,
          recipientPublicKey: r.publicKey,
          info,
          ikmE: fromHex(v.ikmE),
          ...(senderPrivateKey ? { senderPrivateKey } : {}),
        });
        expect(toHex(sender.enc)).toBe(v.enc);
        expect(schedule(sender.context)).toEqual(expected);

        const receiver = await hpkeSetupReceiver({
          aead,
          recipientPrivateKey: r.privateKey,
          enc: fromHex(v.enc),
          info,
          ...(senderPublicKey ? { senderPublicKey } : {}),
        });
        expect(schedule(receiver)).toEqual(expected);

        // Every encryption, in sequence order: nonce, seal on the sender, open on the receiver.
        if (aead === HPKE_AEAD.EXPORT_ONLY) {
          expect(v.encryptions).toEqual([]);
          expect(() => sender.context.seal(new Uint8Array(0), new Uint8Array(0))).toThrow();
        } else {
          expect(v.encryptions).toHaveLength(SEQ_COUNT);
        }
        v.encryptions.forEach((enc, seq) => {
          expect(toHex(sender.context.nonce(seq))).toBe(enc.nonce);
          expect(toHex(sender.context.seal(fromHex(enc.aad), fromHex(enc.pt)))).toBe(enc.ct);
          expect(toHex(receiver.open(fromHex(enc.aad), fromHex(enc.ct)))).toBe(enc.pt);
        });

        expect(v.exports.length).toBeGreaterThan(0);
        for (const x of v.exports) {
          expect(toHex(sender.context.export(fromHex(x.exporter_context), x.L))).toBe(
            x.exported_value,
          );
          expect(toHex(receiver.export(fromHex(x.exporter_context), x.L))).toBe(x.exported_value);
        }
      },
    );
  });
});

describe('single-shot API', () => {
  const info = new Uint8Array([1, 2, 3]);
  const aad = new Uint8Array([9]);
  const plaintext = new Uint8Array(32).fill(0x42);

  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return 'none';
    } catch (e) {
      return isCarnetError(e) ? e.code : 'foreign';
    }
  }

  it.each(['webcrypto', 'noble'] as const)(
    'round-trips base and auth mode (%s)',
    async (backend) => {
      setBackend(backend);
      const r = await x25519Keygen();
      const s = await x25519Keygen();
      const base = await hpkeSeal({ recipientPublicKey: r.publicKey, info, aad, plaintext });
      expect(base.enc).toHaveLength(32);
      expect(base.ciphertext).toHaveLength(48);
      const opened = await hpkeOpen({ recipientPrivateKey: r.privateKey, info, aad, ...base });
      expect(opened).toEqual(plaintext);

      const auth = await hpkeSeal({
        recipientPublicKey: r.publicKey,
        info,
        aad,
        plaintext,
        senderPrivateKey: s.privateKey,
      });
      const args = { recipientPrivateKey: r.privateKey, info, aad, ...auth };
      expect(await hpkeOpen({ ...args, senderPublicKey: s.publicKey })).toEqual(plaintext);
      // An auth-mode ciphertext does not open as base mode, nor with another sender key.
      expect(await codeOf(hpkeOpen(args))).toBe('INTEGRITY');
      const other = await x25519Keygen();
      expect(await codeOf(hpkeOpen({ ...args, senderPublicKey: other.publicKey }))).toBe(
        'INTEGRITY',
      );
    },
  );

  it('refuses tampering with INTEGRITY', async () => {
    const r = await x25519Keygen();
    const sealed = await hpkeSeal({ recipientPublicKey: r.publicKey, info, aad, plaintext });
    const good = { recipientPrivateKey: r.privateKey, info, aad, ...sealed };
    const flip = (b: Uint8Array, i: number): Uint8Array => b.map((x, j) => (j === i ? x ^ 1 : x));
    expect(await codeOf(hpkeOpen({ ...good, info: new Uint8Array([1, 2]) }))).toBe('INTEGRITY');
    expect(await codeOf(hpkeOpen({ ...good, aad: new Uint8Array(0) }))).toBe('INTEGRITY');
    expect(await codeOf(hpkeOpen({ ...good, enc: flip(sealed.enc, 5) }))).toBe('INTEGRITY');
    expect(await codeOf(hpkeOpen({ ...good, enc: sealed.enc.subarray(1) }))).toBe('INTEGRITY');
    expect(await codeOf(hpkeOpen({ ...good, enc: new Uint8Array(32) }))).toBe('INTEGRITY');
    expect(await codeOf(hpkeOpen({ ...good, ciphertext: flip(sealed.ciphertext, 47) }))).toBe(
      'INTEGRITY',
    );
    expect(await codeOf(hpkeOpen({ ...good, ciphertext: sealed.ciphertext.subarray(0, 15) }))).toBe(
      'INTEGRITY',
    );
    const wrong = await x25519Keygen();
    expect(await codeOf(hpkeOpen({ ...good, recipientPrivateKey: wrong.privateKey }))).toBe(
      'INTEGRITY',
    );
  });

  it.each(['webcrypto', 'noble'] as const)(
    'refuses a low-order recipient key when sealing (%s)',
    async (backend) => {
      setBackend(backend);
      const code = await codeOf(
        hpkeSeal({ recipientPublicKey: new Uint8Array(32), info, aad, plaintext }),
      );
      expect(code).toBe('INVALID_ARGUMENT');
    },
  );
});
