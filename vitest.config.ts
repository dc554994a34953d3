import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.soak.test.ts'],
    // The server is compiled once per run: worker threads and the CLI run dist/.
    globalSetup: ['test/preflight.ts', 'test/build-server.ts', 'src/web/e2e/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Browser and server tests use real sockets and real files; two cores, so keep forks small.
    pool: 'forks',
    maxWorkers: 2,
  },
});
