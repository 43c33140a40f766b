import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Against a real Odoo, one at a time, with their own config (npm test runs them after this suite).
    exclude: [...configDefaults.exclude, 'test/real-odoo/**'],
    setupFiles: ['test/setup-env.ts'],
    // Real PostgreSQL clusters and child processes: give them room, but never hang CI.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
