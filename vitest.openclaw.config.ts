import { defineConfig } from 'vitest/config';

// `npm run test:openclaw`: real OpenClaw gateways under `clawfleet up`. Opt-in, not part of `npm test`:
// it installs Node 24 and openclaw (~650 MB) into ${XDG_CACHE_HOME:-~/.cache}/clawfleet/openclaw and
// each gateway boots in 10-30 s with ~850 MB of memory.
export default defineConfig({
  test: {
    name: 'openclaw',
    include: ['test/openclaw/**/*.test.ts'],
    globalSetup: ['test/openclaw/setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // Measurements are printed with console.log; show them as they happen.
    disableConsoleIntercept: true,
    reporters: ['verbose'],
  },
});
