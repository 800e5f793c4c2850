/**
 * Wycheproof vectors (C2SP/wycheproof, copied into the handout folder): AEADs, HKDF, X25519 and
 * Ed25519, the asymmetric ones on both backends. Each group collects failing tcIds so that a
 * regression names every vector it breaks, and counts what it checked so it cannot pass empty.
 */
import { vectorFile } from './vector-files';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import {
  chacha20poly1305Open,
  chacha20poly1305Seal,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from '../src/primitives/aead';
import { setBackend } from '../src/primitives/backend';
import { ed25519Verify } from '../src/primitives/ed25519';
import { hkdfSha256 } from '../src/primitives/sha2';
import { x25519 } from '../src/primitives/x25519';

interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'acceptable' | 'invalid';
  [field: string]: unknown;
}
interface WycheproofFile {
  numberOfTests: number;
  testGroups: { tests: WycheproofTest[]; [field: string]: unknown }[];
}

/** Reads a handout vector file; a missing handout folder fails the suite, it never skips. */
function load(name: string): WycheproofFile {
  return vectorFile<WycheproofFile>(`wycheproof/${name}`);
}

function allTests(
  f: WycheproofFile,
): { group: WycheproofFile['testGroups'][number]; t: WycheproofTest }[] {
  return f.testGroups.flatMap((group) => group.tests.map((t) => ({ group, t })));
}

function hex(t: WycheproofTest, field: string): Uint8Array {
  const v = t[field];
  if (typeof v !== 'string') throw new Error(`tcId ${t.tcId}: no ${field}`);
  return fromHex(v);
}

function errorCode(fn: () => unknown): CarnetErrorCode | 'none' | 'foreign' {
  try {
    fn();
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

async function asyncErrorCode(
  fn: () => Promise<unknown>,
): Promise<CarnetErrorCode | 'none' | 'foreign'> {
  try {
    await fn();
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

afterAll(() => setBackend('auto'));

const AEADS = [
  {
    file: 'xchacha20_poly1305_test.json',
    nonceLen: 24,
    seal: xchacha20poly1305Seal,
    open: xchacha20poly1305Open,
  },
  {
    file: 'chacha20_poly1305_test.json',
    nonceLen: 12,
    seal: chacha20poly1305Seal,
    open: chacha20poly1305Open,
  },
];

describe.each(AEADS)('Wycheproof $file', ({ file, nonceLen, seal, open }) => {
  it('accepts every valid vector and refuses every invalid one', () => {
    const data = load(file);
    const failures: string[] = [];
    let checked = 0;
    for (const { t } of allTests(data)) {
      checked++;
      const [key, iv, aad, msg] = [hex(t, 'key'), hex(t, 'iv'), hex(t, 'aad'), hex(t, 'msg')];
      const sealed = new Uint8Array([...hex(t, 'ct'), ...hex(t, 'tag')]);
      if (iv.length !== nonceLen) {
        // Wrong nonce sizes are a caller bug: refused before any cryptography.
        if (t.result !== 'invalid') failures.push(`${t.tcId}: odd nonce marked ${t.result}`);
        if (errorCode(() => open(key, iv, sealed, aad)) !== 'INVALID_ARGUMENT')
          failures.push(`${t.tcId}: open`);
        if (errorCode(() => seal(key, iv, msg, aad)) !== 'INVALID_ARGUMENT')
          failures.push(`${t.tcId}: seal`);
        continue;
      }
      if (t.result === 'valid') {
        if (toHex(seal(key, iv, msg, aad)) !== toHex(sealed)) failures.push(`${t.tcId}: seal`);
        let opened = '';
        try {
          opened = toHex(open(key, iv, sealed, aad));
        } catch {
          opened = 'threw';
        }
        if (opened !== toHex(msg)) failures.push(`${t.tcId}: open`);
      } else if (errorCode(() => open(key, iv, sealed, aad)) !== 'INTEGRITY') {
        failures.push(`${t.tcId}: invalid vector not refused with INTEGRITY`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(data.numberOfTests);
  });
});

describe('Wycheproof hkdf_sha256', () => {
  it('derives every valid output and refuses oversized lengths', () => {
    const data = load('hkdf_sha256_test.json');
    const failures: string[] = [];
    let checked = 0;
    for (const { t } of allTests(data)) {
      checked++;
      const size = t.size as number;
      const run = (): Uint8Array => hkdfSha256(hex(t, 'ikm'), hex(t, 'salt'), hex(t, 'info'), size);
      if (t.result === 'valid') {
        if (toHex(run()) !== t.okm) failures.push(`${t.tcId}`);
      } else if (errorCode(run) !== 'INVALID_ARGUMENT') {
        failures.push(`${t.tcId}: not refused`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(data.numberOfTests);
  });
});

const BACKENDS = ['webcrypto', 'noble'] as const;

describe.each(BACKENDS)('Wycheproof x25519 (%s)', (backend) => {
  it('computes every valid and acceptable shared secret, refuses every zero one', async () => {
    setBackend(backend);
    const data = load('x25519_test.json');
    const failures: string[] = [];
    let checked = 0;
    let refusedZero = 0;
    for (const { t } of allTests(data)) {
      checked++;
      const [priv, pub, shared] = [hex(t, 'private'), hex(t, 'public'), hex(t, 'shared')];
      if (t.result === 'invalid') {
        const code = await asyncErrorCode(() => x25519(priv, pub));
        if (code === 'none' || code === 'foreign') failures.push(`${t.tcId}: invalid accepted`);
      } else if (shared.every((b) => b === 0)) {
        // "acceptable" leaves the choice to us: Carnet refuses low-order points (RFC 7748 §6.1).
        const code = await asyncErrorCode(() => x25519(priv, pub));
        if (code !== 'INTEGRITY') failures.push(`${t.tcId}: zero secret gave ${code}`);
        else refusedZero++;
      } else {
        // Twists and non-canonical encodings are accepted, and then the result must be right.
        let got: string;
        try {
          got = toHex(await x25519(priv, pub));
        } catch (e) {
          got = `threw ${String(e)}`;
        }
        if (got !== toHex(shared)) failures.push(`${t.tcId} [${t.flags.join(',')}]: ${got}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(data.numberOfTests);
    expect(refusedZero).toBeGreaterThan(0);
  });
});

describe.each(BACKENDS)('Wycheproof ed25519 (%s)', (backend) => {
  it('accepts every valid signature and refuses every invalid one', async () => {
    setBackend(backend);
    const data = load('ed25519_test.json');
    const failures: string[] = [];
    let checked = 0;
    for (const { group, t } of allTests(data)) {
      checked++;
      const pk = fromHex((group.publicKey as { pk: string }).pk);
      const ok = await ed25519Verify(pk, hex(t, 'msg'), hex(t, 'sig'));
      // No vector in this file is "acceptable"; if one appears, make the test say so.
      if (ok !== (t.result === 'valid'))
        failures.push(`${t.tcId} (${t.result}, ${t.flags.join(',')})`);
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(data.numberOfTests);
  });
});
