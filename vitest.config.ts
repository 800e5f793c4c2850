import { defineConfig } from 'vitest/config';

// One test run across the workspace; each package keeps its own vitest config. The crypto
// core's tests run twice: in Node and inside Debian's Chromium (shared/vitest.browser.config.ts).
export default defineConfig({
  test: {
    projects: [
      'shared/vitest.config.ts',
      'shared/vitest.browser.config.ts',
      'server/vitest.config.ts',
      'scripts/vitest.config.ts',
      'tests/vitest.config.ts',
      'web/vitest.config.ts',
    ],
  },
});
