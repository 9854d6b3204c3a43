/** How the browser tests start Chromium: Debian's package (installed by .ci/run), headless. */
import { existsSync } from 'node:fs';
import type { LaunchOptions } from 'playwright-core';

export function launchOptions(): LaunchOptions {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`No Chromium at ${executablePath}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH.`);
  return {
    executablePath,
    headless: true,
    // playwright-core gives each launch a fresh temporary profile.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  };
}
