import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: one worker per core; Verilator builds inside tests use the other.
    maxWorkers: 2,
    pool: 'forks',
  },
});
