import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/**
 * The crypto core's own tests, run again inside Debian's Chromium (WebCrypto, Web Streams and
 * WASM of a real browser). Only test files free of Node APIs are listed; vectors are imported
 * as JSON so that the same files run in both places.
 */
export default defineConfig({
  server: { fs: { allow: ['..', '../../shared'] } },
  test: {
    name: 'shared-chromium',
    include: [
      'test/{primitives,wycheproof,hpke,envelope,wrap}.test.ts',
      'test/{account,kdf,keyring,recovery,pinning}.test.ts',
      'test/{folder,record,manifest,grant,invite}.test.ts',
      'test/{padme,stream-tamper,stream-vectors}.test.ts',
      'test/{audit,import-item,receipt,grant-inspect}.test.ts',
    ],
    testTimeout: 120_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--disable-dev-shm-usage',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
