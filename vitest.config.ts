import { defineConfig } from 'vitest/config';

// Tests start real processes (mosquitto, ffmpeg, llama.cpp) on a 2-core box: generous
// timeouts, and files run in forks so a native crash cannot take the runner down.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
