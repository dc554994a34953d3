import { defineConfig } from 'vitest/config';

/**
 * The kiosk soak only (`npm run test:soak` once the root `vitest.soak.config.ts` points here):
 * long, one browser, not in CI.
 */
export default defineConfig({
  test: {
    root: new URL('../../..', import.meta.url).pathname,
    include: ['src/**/*.soak.test.ts'],
    globalSetup: ['test/build-server.ts', 'src/web/e2e/global-setup.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
