/**
 * The pharmacy and manufacturer views in a real browser (Debian Chromium) against a real local
 * network (`medchain up`: seven members, the seeded demo supply chain): a Main Street Pharmacy
 * pharmacist pastes a seeded pack it holds and sees it verified; a pack with a wrong GTIN check
 * digit is refused in the browser, naming the check digit, with no request sent; Northwind's
 * administrator recalls a lot (with a confirm step) and the pharmacist then sees Recalled and no
 * Dispense; an expired pack reads Expired; a genuine pack is dispensed, and verified again it is
 * not verified. Routes still being built elsewhere (returns, alerts, commissioning) either work or
 * say they are not available; neither view breaks. axe-core checks the new views (WCAG 2 A/AA).
 * Screenshots go to test-artifacts/portal/ (supply-*.png).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { DemoUnit } from '../../src/node/seed/seedSupply.js';
import { GS, writeElementString } from '../../src/supply/gs1.js';
import { launchChromium, requireChromium } from './browser.js';
import {
  auditAccessibility,
  buildPortal,
  memberOf,
  type PortalNetwork,
  shot,
  shots,
  shown,
  staffSignIn,
  startNetwork,
  stopNetwork,
  UI_MS,
  userOf,
} from './portalSupport.js';

let network: PortalNetwork;
let browser: Browser;
let pharmacyPage: Page;
let makerPage: Page;
/** Every verify request the pharmacy page sent. */
const verifyRequests: string[] = [];

const PHARMACY = 'Main Street Pharmacy';
const MAKER = 'Northwind Pharmaceuticals';

/** The seeded demo units of a lot that the pharmacy holds (network.json `units`). */
function heldAtPharmacy(lot: string): DemoUnit[] {
  const pharmacy = memberOf(network.net, PHARMACY);
  const units = network.net.units.filter(
    (u) => u.lot === lot && u.holder.toLowerCase() === pharmacy.address.toLowerCase(),
  );
  assert.ok(units.length >= 2, `network.json lists two units of lot ${lot} at the pharmacy`);
  return units;
}

/** Paste `code` into the pharmacy's scan field and press Verify; resolves with the verdict box. */
async function verifyAtPharmacy(code: string) {
  const p = pharmacyPage;
  await shown(p).getByLabel('Code on the pack').fill(code);
  await shown(p).getByTestId('pack-facts').waitFor();
  await shown(p).getByRole('button', { name: 'Verify', exact: true }).click();
  const verdict = shown(p).getByTestId('verdict');
  await verdict.waitFor({ timeout: UI_MS });
  return verdict;
}

const elementString = (u: DemoUnit, gs: string) =>
  writeElementString({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry }).replace(GS, gs);
/** The same layout by hand (writeElementString refuses a wrong check digit, as it should). */
const rawElementString = (u: DemoUnit, gs: string) => `01${u.gtin}17${u.expiry}10${u.lot}${gs}21${u.serial}`;
const digitalLink = (u: DemoUnit) =>
  `https://id.gs1.org/01/${u.gtin}/10/${u.lot}/21/${u.serial}?exp=${u.expiry}`;

before(async () => {
  requireChromium();
  buildPortal();
  network = await startNetwork('medchain-supply-portal-');
  browser = await launchChromium();
  pharmacyPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  makerPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  pharmacyPage.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/supply/verify/')) verifyRequests.push(r.url());
  });
});

afterEach(async (t) => {
  if (!browser || (t as unknown as { passed?: boolean }).passed !== false) return;
  await pharmacyPage
    ?.screenshot({ path: path.join(shots, 'failure-supply-pharmacy.png'), fullPage: true })
    .catch(() => {});
  await makerPage
    ?.screenshot({ path: path.join(shots, 'failure-supply-manufacturer.png'), fullPage: true })
    .catch(() => {});
});

after(async () => {
  await browser?.close();
  await stopNetwork(network);
});

describe('pharmacy and manufacturer views in Chromium on a real network', () => {
  test('verify, check digit, recall, expired, dispense, verify again; returns and alerts degrade', async () => {
    const net = network.net;
    const [genuine, another] = heldAtPharmacy('AMX2601');
    const [toRecall] = heldAtPharmacy('MET2602');
    const [expired] = heldAtPharmacy('ATV2401');
    assert.ok(genuine && another && toRecall && expired);
    const p = pharmacyPage;

    // 1. The pharmacist signs in at the pharmacy's own portal and pastes a pack as a scanner sends
    //    it (ASCII 29 between lot and serial): the parsed identifier shows, then Verified.
    await p.goto(`${memberOf(net, PHARMACY).url}/#/pharmacy`);
    const pharmacist = userOf(net, PHARMACY, 'pharmacist');
    await staffSignIn(p, pharmacist.username, pharmacist.password);
    await shown(p).getByLabel('Code on the pack').waitFor({ timeout: UI_MS });
    // The alerts panel either lists alerts or says the node has none to offer; it does not break.
    await shown(p)
      .locator('[data-testid="alerts-unavailable"], table.alerts, p:text-is("No alerts.")')
      .first()
      .waitFor({ timeout: UI_MS });
    let verdict = await verifyAtPharmacy(elementString(genuine, GS));
    const facts = await shown(p).getByTestId('pack-facts').innerText();
    for (const v of [genuine.gtin, genuine.lot, genuine.serial]) assert.ok(facts.includes(v), facts);
    assert.match(facts, /30 Jun 2028 \(280630\)/);
    assert.equal(await verdict.getAttribute('data-saleable'), 'true');
    assert.match(await verdict.innerText(), /Verified: genuine and saleable/);
    assert.match(await verdict.innerText(), /Northwind Pharmaceuticals \(GLN 9521234000006\)/);
    await verdict.getByRole('button', { name: 'Dispense' }).waitFor();
    await shot(p, 'supply-01-pharmacy-verified');
    await shot(p, 'pharmacy-verify', false); // copied to docs/screenshots/ for the README

    // 2. A wrong GTIN check digit (typed with a visible <GS>): named in the browser, nothing sent.
    const sent = verifyRequests.length;
    const last = Number(genuine.gtin.at(-1));
    const badGtin = `${genuine.gtin.slice(0, -1)}${(last + 1) % 10}`;
    const typo = rawElementString({ ...genuine, gtin: badGtin }, '<GS>');
    assert.equal(rawElementString(genuine, GS), elementString(genuine, GS));
    await shown(p).getByLabel('Code on the pack').fill(typo);
    const problem = shown(p).getByRole('alert').filter({ hasText: 'check digit' });
    await problem.waitFor();
    assert.match(await problem.innerText(), new RegExp(`${badGtin} has check digit ${(last + 1) % 10}`));
    assert.match(await problem.innerText(), new RegExp(`give ${last}`));
    assert.ok(await shown(p).getByRole('button', { name: 'Verify', exact: true }).isDisabled());
    await shown(p).getByLabel('Code on the pack').press('Enter'); // a scanner's Enter sends nothing either
    await p.waitForTimeout(500);
    assert.equal(verifyRequests.length, sent, 'no verification request for a code that does not read');
    assert.equal(await shown(p).getByTestId('verdict').count(), 0);
    await shot(p, 'supply-02-check-digit');

    // 3. Northwind's administrator recalls lot MET2602 in the manufacturer view, after confirming.
    const m = makerPage;
    await m.goto(`${memberOf(net, MAKER).url}/#/manufacturer`);
    const admin = userOf(net, MAKER, 'admin');
    await staffSignIn(m, admin.username, admin.password);
    const recall = shown(m).getByRole('region', { name: 'Recall a lot' });
    await recall.getByLabel('GTIN').fill(toRecall.gtin);
    await recall.getByLabel('Lot').fill(toRecall.lot);
    await recall.getByRole('button', { name: 'Recall lot…' }).click();
    const confirm = recall.getByRole('alertdialog');
    assert.match(
      await confirm.innerText(),
      new RegExp(`Recall lot ${toRecall.lot} of GTIN ${toRecall.gtin}\\?`),
    );
    await shot(m, 'supply-03-manufacturer-recall-confirm');
    await shot(m, 'manufacturer-recall', false); // copied to docs/screenshots/ for the README
    await confirm.getByRole('button', { name: 'Confirm recall' }).click();
    await recall
      .getByText(`Lot ${toRecall.lot} of GTIN ${toRecall.gtin} is recalled.`)
      .waitFor({ timeout: UI_MS });
    await shot(m, 'supply-04-manufacturer-recalled');
    // Commissioning (built elsewhere): it works, or it says it is not available here.
    const commission = shown(m).getByRole('region', { name: 'Commission units' });
    await commission.getByLabel('GTIN').fill(toRecall.gtin);
    await commission.getByLabel('Lot').fill('MET2699');
    await commission.getByLabel('Expiry (YYMMDD)').fill('291231');
    await commission.getByLabel('Units', { exact: true }).fill('10');
    await commission.getByRole('button', { name: 'Commission' }).click();
    await commission
      .getByText(/Commissioning is not available at this node yet|Done\./)
      .waitFor({ timeout: UI_MS });

    // 4. The pharmacist verifies a pack of the recalled lot (as a Digital Link): Recalled, no Dispense.
    verdict = await verifyAtPharmacy(digitalLink(toRecall));
    assert.equal(await verdict.getAttribute('data-saleable'), 'false');
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Recalled');
    assert.match(await verdict.innerText(), /Verified, but Recalled: do not dispense/);
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);
    assert.match(await verdict.innerText(), /Dispensing is not offered/);
    await shot(p, 'supply-05-pharmacy-recalled');

    // 5. An expired pack: Expired, no Dispense.
    verdict = await verifyAtPharmacy(elementString(expired, '\\x1d'));
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Expired');
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);

    // 6. A saleable return (built elsewhere): recorded, or said to be not available here.
    verdict = await verifyAtPharmacy(elementString(another, GS));
    await verdict.getByRole('button', { name: 'Take back as a saleable return' }).click();
    await shown(p)
      .getByText(/Returns are not available at this node yet|Return recorded\./)
      .waitFor({ timeout: UI_MS });

    // 7. The genuine pack is dispensed (on chain); verified again, it is not verified: already dispensed.
    verdict = await verifyAtPharmacy(elementString(genuine, GS));
    await verdict.getByRole('button', { name: 'Dispense' }).click();
    await shown(p).getByText('Dispensed.').waitFor({ timeout: UI_MS });
    assert.match(
      await shown(p).locator('.note-ok', { hasText: 'Dispensed.' }).innerText(),
      /recorded on chain as dispensed/,
    );
    await shot(p, 'supply-06-pharmacy-dispensed');
    await shown(p).getByRole('button', { name: 'Verify', exact: true }).click();
    verdict = shown(p).getByTestId('verdict');
    await verdict.waitFor({ timeout: UI_MS });
    assert.equal(await verdict.getAttribute('data-verified'), 'false');
    assert.equal(await verdict.getByTestId('verified').innerText(), 'no');
    assert.match(await verdict.getByTestId('reason').innerText(), /Not_for_re-distribution/);
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Suspect');
    assert.match(await verdict.innerText(), /already dispensed/);
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);
    await shot(p, 'supply-07-pharmacy-already-dispensed');
  });

  test('the pharmacy and manufacturer views pass axe-core’s WCAG 2 A and AA checks', async () => {
    const net = network.net;
    // The pharmacy view with a verdict on screen (from the test above, or a fresh one).
    const p = pharmacyPage;
    if ((await shown(p).getByTestId('verdict').count()) === 0) {
      await p.goto(`${memberOf(net, PHARMACY).url}/#/pharmacy`);
      const pharmacist = userOf(net, PHARMACY, 'pharmacist');
      await staffSignIn(p, pharmacist.username, pharmacist.password);
      await verifyAtPharmacy(elementString(heldAtPharmacy('AMX2601')[1] as DemoUnit, GS));
    }
    await auditAccessibility(p, 'pharmacy: verdict');
    await shown(p).getByLabel('Code on the pack').fill('01123');
    await shown(p).getByRole('alert').first().waitFor();
    await auditAccessibility(p, 'pharmacy: a code that does not read');
    // The manufacturer view signed in, with the recall's confirm step open (nothing is recalled).
    const m = makerPage;
    await m.goto(`${memberOf(net, MAKER).url}/#/manufacturer`);
    await m.reload();
    await shown(m).getByLabel('User name').waitFor({ timeout: UI_MS });
    await auditAccessibility(m, 'manufacturer sign-in');
    const admin = userOf(net, MAKER, 'admin');
    await staffSignIn(m, admin.username, admin.password);
    const recall = shown(m).getByRole('region', { name: 'Recall a lot' });
    const [unit] = heldAtPharmacy('AMX2601');
    await recall.getByLabel('GTIN').fill(unit?.gtin ?? '');
    await recall.getByLabel('Lot').fill('AMX2601');
    await recall.getByRole('button', { name: 'Recall lot…' }).click();
    await recall.getByRole('alertdialog').waitFor();
    await auditAccessibility(m, 'manufacturer: recall confirm step');
    await recall.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await recall.getByRole('alertdialog').count(), 0);
  });
});
