import { defineConfig } from 'vitest/config';

// Fast table tests sit beside their modules; integration tests with real processes live in test/.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
          // Two cores: real-process tests in parallel files would fight for CPU and turn timing into flakiness.
          fileParallelism: false,
        },
      },
    ],
  },
});
