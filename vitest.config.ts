import { defineConfig } from 'vitest/config';

// Tests import workspace packages through their `source` export condition (the TypeScript sources), so
// unit tests need no build; end-to-end tests spawn the built `marina` command (`npm test` builds first).
const conditions = ['source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
