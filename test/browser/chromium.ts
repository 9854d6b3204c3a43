/**
 * How the browser tests start Chromium, headless. They must run after a plain `npm install` on a
 * fresh machine, where no browser may be installed and `npx playwright install` cannot download
 * one: scripts/chromium.mjs (shared with `npm run screenshots`) takes CHROMIUM_PATH, else a system
 * Chromium, else the one shipped in the `@sparticuz/chromium` dev dependency.
 */
import type { LaunchOptions } from 'playwright-core';
import { chromiumLaunchOptions } from '../../scripts/chromium.mjs';

export function launchOptions(): Promise<LaunchOptions> {
  return chromiumLaunchOptions();
}
