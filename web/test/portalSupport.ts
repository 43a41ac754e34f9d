/**
 * Test support for the portal's browser tests: build the portal, start a real local network
 * (`medchain up` in a temp dir) and read its network.json, find members and demo users, screenshot
 * into test-artifacts/portal/, sign staff in, import a patient's key file, and audit a page with
 * axe-core (WCAG 2 A and AA). `portalTestbed` is a browser test file's whole set-up and teardown.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import type { NetworkFile } from '../../src/node/localNetwork.js';
import { startUp, stopUp } from '../../test/support/testNetwork.js';
import { launchChromium, requireChromium } from './browser.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const shots = path.join(root, 'test-artifacts', 'portal');
export const PASSPHRASE = 'medchain-local-demo';
/** How long the portal may take to show something: generous for a loaded 2-core machine. */
export const UI_MS = 120_000;

/** Build web/ into web/dist (what every member node serves at `/`); fails with vite's output. */
export function buildPortal(): void {
  mkdirSync(shots, { recursive: true });
  const build = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(build.status, 0, `portal build failed:\n${build.stdout}\n${build.stderr}`);
}

/** A running local network: its folder, the `medchain up` process and its network.json. */
export interface PortalNetwork {
  dir: string;
  up: Awaited<ReturnType<typeof startUp>>;
  net: NetworkFile;
}

/** `medchain up` in a fresh temp dir, once it says it is ready. */
export async function startNetwork(prefix: string): Promise<PortalNetwork> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    const up = await startUp(dir, { ...process.env, MEDCHAIN_PASSPHRASE: PASSPHRASE });
    const net = JSON.parse(readFileSync(path.join(dir, 'network.json'), 'utf8')) as NetworkFile;
    return { dir, up, net };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Stop the network and remove its folder. */
export async function stopNetwork(n: PortalNetwork | undefined): Promise<void> {
  if (!n) return;
  await stopUp(n.up.child);
  rmSync(n.dir, { recursive: true, force: true });
}

/** A member of network.json by name. */
export function memberOf(net: NetworkFile, name: string): NetworkFile['members'][number] {
  const m = net.members.find((x) => x.name === name);
  assert.ok(m, `no member ${name}`);
  return m;
}

/** A demo user of a member by role. */
export function userOf(net: NetworkFile, memberName: string, role: string): NetworkFile['demoUsers'][number] {
  const u = net.demoUsers.find((x) => x.member === memberName && x.role === role);
  assert.ok(u, `no ${role} at ${memberName}`);
  return u;
}

/** Save a screenshot as test-artifacts/portal/{name}.png; resolves to its path. */
export async function shot(page: Page, name: string, fullPage = true): Promise<string> {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** The view on screen (the others stay mounted, hidden, so their sign-ins survive a switch). */
export const shown = (page: Page): Locator => page.locator('main > div:not([hidden])');

/** Sign a staff user in on the view on screen. */
export async function staffSignIn(page: Page, username: string, password: string): Promise<void> {
  await shown(page).getByLabel('User name').fill(username);
  await shown(page).getByLabel('Password').fill(password);
  await shown(page).getByRole('button', { name: 'Sign in' }).click();
}

/** axe-core's serious and critical WCAG 2 A/AA violations on the page: fails the test with each one. */
export async function auditAccessibility(page: Page, what: string): Promise<void> {
  const axe = readFileSync(path.join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axe);
  const found = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: {
        run(
          c: Document,
          o: object,
        ): Promise<{ violations: { id: string; impact: string; help: string; nodes: unknown[] }[] }>;
      };
    };
    const r = await w.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} x${v.nodes.length}: ${v.help}`);
  });
  assert.deepEqual(found, [], `${what}: ${found.join('; ')}`);
}

/** Import a patient key file in the portal (it is then kept, encrypted, in this origin's IndexedDB). */
export async function importKey(page: Page, keyFile: string): Promise<void> {
  await shown(page).getByRole('tab', { name: 'Import a key' }).click();
  await shown(page)
    .getByLabel(/^Key file/)
    .setInputFiles(keyFile);
  await shown(page).getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
  await shown(page).getByRole('button', { name: 'Import' }).click();
}

/** What `portalTestbed` gives a test file once its `before` hook ran. */
export interface PortalTestbed {
  readonly network: PortalNetwork;
  readonly browser: Browser;
  /** A page opened at set-up, by the name given. */
  page(name: string): Page;
}

/**
 * Register a browser test file's set-up and teardown (node:test hooks): build the portal, start
 * a network (`medchain up`), launch Chromium with one 1280x900 page per name; after a failed test,
 * screenshot every page to test-artifacts/portal/failure-{name}.png; at the end close the browser
 * and stop the network. `ready` runs at the end of that set-up (a file's own top-level `before`
 * hook is not ordered after this one, so it takes what it needs there).
 */
export function portalTestbed(
  prefix: string,
  pageNames: readonly string[],
  ready: (bed: PortalTestbed) => void,
): PortalTestbed {
  let network: PortalNetwork | undefined;
  let browser: Browser | undefined;
  const pages = new Map<string, Page>();
  before(async () => {
    requireChromium();
    buildPortal();
    network = await startNetwork(prefix);
    browser = await launchChromium();
    for (const name of pageNames)
      pages.set(name, await browser.newPage({ viewport: { width: 1280, height: 900 } }));
    ready(bed);
  });
  afterEach(async (t) => {
    if (!browser || (t as unknown as { passed?: boolean }).passed !== false) return;
    for (const [name, page] of pages)
      await page
        .screenshot({ path: path.join(shots, `failure-${name}.png`), fullPage: true })
        .catch(() => {});
  });
  after(async () => {
    await browser?.close();
    await stopNetwork(network);
  });
  const need = <T>(v: T | undefined, what: string): T => {
    assert.ok(v, `${what} is not set up yet (use it inside a test or a later hook)`);
    return v;
  };
  const bed: PortalTestbed = {
    get network() {
      return need(network, 'the network');
    },
    get browser() {
      return need(browser, 'the browser');
    },
    page: (name) => need(pages.get(name), `page ${name}`),
  };
  return bed;
}
