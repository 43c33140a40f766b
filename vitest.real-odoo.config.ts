import { defineConfig } from 'vitest/config';

// End-to-end tests against one real Odoo 18 (test/helpers/real-odoo.ts), run after the main suite by
// `npm test`. The files inject faults into the same server, so they run one at a time.
export default defineConfig({
  test: {
    include: ['test/real-odoo/**/*.test.ts'],
    setupFiles: ['test/setup-env.ts'],
    globalSetup: ['test/real-odoo/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
