import { defineConfig } from 'vitest/config';

// One test run across the workspace; each package keeps its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['shared', 'server', 'scripts', 'tests'],
  },
});
