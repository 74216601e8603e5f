// Playwright configuration for lrwidget's real-browser tests.
//
// One JupyterLab server (started by support/global-setup.ts) serves every test, and one worker
// drives it: the scenarios share a kernel and the machine may have only 2 cores.
import { defineConfig } from '@playwright/test';

// Never let Playwright fetch a browser: the system Chromium is used (override with CHROMIUM_PATH).
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: require.resolve('./support/global-setup'),
  workers: 1,
  fullyParallel: false,
  retries: 0,
  // Keras sweeps on a tiny model still take seconds on 2 busy cores: generous, but bounded.
  timeout: 240_000,
  globalTimeout: 15 * 60_000,
  expect: { timeout: 60_000 },
  reporter: [['list'], ['./support/where-reporter.ts']],
  use: {
    headless: true,
    viewport: { width: 1280, height: 900 },
    actionTimeout: 30_000,
    navigationTimeout: 120_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: chromium,
      // Without the networking flags Chromium keeps dialling out, which floods a closed network.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    },
  },
});
