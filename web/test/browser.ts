/**
 * Test support: Debian's Chromium driven by playwright-core (no browser download). Launched
 * headless without a sandbox (CI runs as root) and with background networking off, so the browser
 * makes no connection but the ones a test asks for.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.MEDCHAIN_CHROMIUM ?? '/usr/bin/chromium';

/** Fails with what to install when Debian's Chromium is missing (CI installs it in .ci/run). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set MEDCHAIN_CHROMIUM)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
    ],
  });
}
