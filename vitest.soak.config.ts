import { defineConfig } from 'vitest/config';

/**
 * `npm run test:soak`: the long runs, not part of `npm test`. The fault-injection suite
 * (`test/faults/`) scaled up by CIS490_SOAK=1, and the web app's kiosk soak
 * (`src/web/e2e/kiosk.soak.test.ts`, one browser, see `src/web/e2e/soak.config.ts`).
 */
process.env.CIS490_SOAK = '1';

export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts', 'src/**/*.soak.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['test/preflight.ts', 'test/build-server.ts', 'src/web/e2e/global-setup.ts'],
    env: { CIS490_SOAK: '1' },
    testTimeout: 60 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One at a time: each soak wants the machine (1,000 sockets, a browser, GiB of zeros).
    maxWorkers: 1,
  },
});
