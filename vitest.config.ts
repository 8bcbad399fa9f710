import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite instances and throwaway PostgreSQL databases are per file; files run in parallel forks.
    pool: 'forks',
    // Vitest's default is one fork less than the CPUs: a single fork on the 2-vCPU CI machine, where the suite
    // (mostly engine and agent files that wait on processes and I/O) took ~25 min. Two forks measured 888 s
    // with all 2,339 tests passing while other work loaded the machine (2026-11-27).
    maxWorkers: 2,
  },
});
