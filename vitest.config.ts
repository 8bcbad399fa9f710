import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite instances and throwaway PostgreSQL databases are per file; files run in parallel forks.
    pool: 'forks',
  },
});
