/**
 * Every vector file the tests read, imported as JSON so that the same test files run under
 * Node and inside Chromium (vitest browser mode has no `node:fs`). The handout files come from
 * `../shared/vectors/` beside the repository: if that folder is missing, the import fails and
 * the suite fails loudly — it never skips.
 */
import hpkeX25519 from '../../../shared/vectors/hpke-x25519.json';
import padmeExamples from '../../../shared/vectors/padme-examples.json';
import wpAesGcm from '../../../shared/vectors/wycheproof/aes_gcm_test.json';
import wpChacha from '../../../shared/vectors/wycheproof/chacha20_poly1305_test.json';
import wpEd25519 from '../../../shared/vectors/wycheproof/ed25519_test.json';
import wpHkdf from '../../../shared/vectors/wycheproof/hkdf_sha256_test.json';
import wpX25519 from '../../../shared/vectors/wycheproof/x25519_test.json';
import wpXchacha from '../../../shared/vectors/wycheproof/xchacha20_poly1305_test.json';
import audit from '../vectors/audit.v1.json';
import envelope from '../vectors/envelope.v1.json';
import fileStream from '../vectors/file-stream.v1.json';
import folderKeys from '../vectors/folder-keys.v1.json';
import grant from '../vectors/grant.v1.json';
import hpkeWrap from '../vectors/hpke-wrap.v1.json';
import importItems from '../vectors/import.v1.json';
import invite from '../vectors/invite.v1.json';
import keyBundle from '../vectors/key-bundle.v1.json';
import keyring from '../vectors/keyring.v1.json';
import manifest from '../vectors/manifest.v1.json';
import receipt from '../vectors/receipt.v1.json';
import recordVersion from '../vectors/record-version.v1.json';

const FILES: Record<string, unknown> = {
  'hpke-x25519.json': hpkeX25519,
  'padme-examples.json': padmeExamples,
  'wycheproof/aes_gcm_test.json': wpAesGcm,
  'wycheproof/chacha20_poly1305_test.json': wpChacha,
  'wycheproof/ed25519_test.json': wpEd25519,
  'wycheproof/hkdf_sha256_test.json': wpHkdf,
  'wycheproof/x25519_test.json': wpX25519,
  'wycheproof/xchacha20_poly1305_test.json': wpXchacha,
  'audit.v1.json': audit,
  'envelope.v1.json': envelope,
  'file-stream.v1.json': fileStream,
  'folder-keys.v1.json': folderKeys,
  'grant.v1.json': grant,
  'hpke-wrap.v1.json': hpkeWrap,
  'import.v1.json': importItems,
  'invite.v1.json': invite,
  'key-bundle.v1.json': keyBundle,
  'keyring.v1.json': keyring,
  'manifest.v1.json': manifest,
  'receipt.v1.json': receipt,
  'record-version.v1.json': recordVersion,
};

/**
 * A vector file by name: package files by their name (`envelope.v1.json`), handout files by
 * their path under `../shared/vectors/` (`hpke-x25519.json`, `wycheproof/x25519_test.json`).
 * Returns a deep copy, so a test that mutates entries cannot affect another.
 */
export function vectorFile<T>(name: string): T {
  const file = FILES[name];
  if (file === undefined) throw new Error(`unknown vector file ${name}`);
  return structuredClone(file) as T;
}
