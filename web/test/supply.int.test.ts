/**
 * The drug supply chain in a real browser (Debian Chromium) against a real local network
 * (`medchain up`: seven members, the seeded demo supply chain).
 *
 * First, on seeded packs: a Main Street Pharmacy pharmacist pastes a pack it holds and sees it
 * verified; a wrong GTIN check digit is refused in the browser, naming the check digit, with no
 * request sent; Northwind's administrator recalls a lot (with a confirm step) and the pharmacist
 * then sees Recalled and no Dispense; an expired pack reads Expired; a genuine pack is dispensed,
 * and verified again it is not verified.
 *
 * Then the whole story: Northwind commissions a lot in cases and ships them to Harbor Wholesale
 * Distribution; Harbor's pharmacist scans one case of two and the receipt is refused with its
 * finding, then receives everything; Harbor's administrator ships a case on to Main Street, whose
 * pharmacist receives it, verifies a pack and dispenses it to a seeded patient, who then sees in
 * the patient view (key file imported) that it was verified authentic; another pack is
 * quarantined and verifies Suspect; Northwind declares it illegitimate and Main Street gets an
 * alert with its deadline and time left, and acknowledges it; Main Street's administrator hands a
 * seeded pack back to Harbor, whose pharmacist accepts it as a saleable return. axe-core checks
 * the views and panels (WCAG 2 A/AA). Screenshots go to test-artifacts/portal/ (supply-*.png).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { PATIENT_ADDRESS_SYSTEM, PATIENT_KEY_EXTENSION } from '../../src/fhir/resourceTypes.js';
import type { NetworkFile } from '../../src/node/localNetwork.js';
import { loadPatientKeys } from '../../src/node/patientKeys.js';
import type { DemoUnit } from '../../src/node/seed/seedSupply.js';
import { GS, writeElementString } from '../../src/supply/gs1.js';
import type { Pack } from '../src/lib/supply.js';
import {
  auditAccessibility,
  importKey,
  memberOf,
  PASSPHRASE,
  portalTestbed,
  shot,
  shown,
  staffSignIn,
  UI_MS,
  userOf,
} from './portalSupport.js';

let net: NetworkFile;
let pharmacyPage: Page;
let makerPage: Page;
let distributorPage: Page;
let patientPage: Page;
/** Every verify request the pharmacy page sent. */
const verifyRequests: string[] = [];

portalTestbed(
  'medchain-supply-portal-',
  ['supply-pharmacy', 'supply-manufacturer', 'supply-distributor', 'supply-patient'],
  (bed) => {
    net = bed.network.net;
    pharmacyPage = bed.page('supply-pharmacy');
    makerPage = bed.page('supply-manufacturer');
    distributorPage = bed.page('supply-distributor');
    patientPage = bed.page('supply-patient');
    pharmacyPage.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/supply/verify/')) verifyRequests.push(r.url());
    });
  },
);

const PHARMACY = 'Main Street Pharmacy';
const MAKER = 'Northwind Pharmaceuticals';
const DISTRIBUTOR = 'Harbor Wholesale Distribution';

/** The seeded demo units of a lot that the pharmacy holds (network.json `units`). */
function heldAtPharmacy(lot: string): DemoUnit[] {
  const pharmacy = memberOf(net, PHARMACY);
  const units = net.units.filter(
    (u) => u.lot === lot && u.holder.toLowerCase() === pharmacy.address.toLowerCase(),
  );
  assert.ok(units.length >= 2, `network.json lists two units of lot ${lot} at the pharmacy`);
  return units;
}

/** Paste `code` into the scan field of `p` and press Verify; resolves with the verdict box. */
async function verifyAtPharmacy(code: string, p: Page = pharmacyPage) {
  await shown(p).getByLabel('Code on the pack').fill(code);
  await shown(p).getByTestId('pack-facts').waitFor();
  await shown(p).getByRole('button', { name: 'Verify', exact: true }).click();
  const verdict = shown(p).getByTestId('verdict');
  await verdict.waitFor({ timeout: UI_MS });
  return verdict;
}

const elementString = (u: Pack, gs: string) =>
  writeElementString({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry }).replace(GS, gs);
/** The same layout by hand (writeElementString refuses a wrong check digit, as it should). */
const rawElementString = (u: Pack, gs: string) => `01${u.gtin}17${u.expiry}10${u.lot}${gs}21${u.serial}`;
const digitalLink = (u: Pack) => `https://id.gs1.org/01/${u.gtin}/10/${u.lot}/21/${u.serial}?exp=${u.expiry}`;

/** Open `view` at `memberName`'s portal afresh (nobody signed in) and sign its user of `role` in. */
async function signInAt(page: Page, memberName: string, view: string, role: string) {
  await page.goto(`${memberOf(net, memberName).url}/#/${view}`);
  await page.reload();
  const u = userOf(net, memberName, role);
  await staffSignIn(page, u.username, u.password);
  await shown(page).getByRole('button', { name: 'Sign out' }).waitFor({ timeout: UI_MS });
}

/** Ship `lines` (SSCCs or unit codes) to the member named `to` in the ship panel on screen; the outcome note. */
async function shipFrom(page: Page, to: string, lines: string[]): Promise<string> {
  const panel = shown(page).getByRole('region', { name: /^Ship/ });
  const option = panel.locator('option', { hasText: to }).first();
  await option.waitFor({ state: 'attached', timeout: UI_MS });
  await panel.getByLabel('To').selectOption((await option.getAttribute('value')) ?? '');
  await panel.getByLabel(/^Cases and units/).fill(lines.join('\n'));
  await panel.getByRole('button', { name: 'Ship', exact: true }).click();
  const done = panel.locator('.note', { hasText: /^Shipped/ });
  await done.waitFor({ timeout: UI_MS });
  return done.innerText();
}

/** The inbound shipment on screen that holds `sscc` (refreshing the list until it shows). */
async function inboundWith(page: Page, sscc: string): Promise<Locator> {
  const panel = shown(page).getByRole('region', { name: 'Inbound shipments' });
  const row = panel.getByTestId('inbound-shipment').filter({ hasText: sscc });
  const started = Date.now();
  while ((await row.count()) === 0) {
    assert.ok(Date.now() - started < UI_MS, `no inbound shipment with case ${sscc} within ${UI_MS / 1000} s`);
    await panel.getByRole('button', { name: 'Refresh' }).click();
    await panel.getByText('Reading shipments…').waitFor({ state: 'detached', timeout: UI_MS });
  }
  return row;
}

/** A staff bearer token at a member (for set-up the portal does not do: a Patient at the pharmacy). */
async function staffToken(memberName: string, role: string): Promise<string> {
  const u = userOf(net, memberName, role);
  const r = await fetch(`${memberOf(net, memberName).url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password }),
  });
  assert.equal(r.status, 200, `sign-in of ${role} at ${memberName}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** The seeded patient's Patient record at the pharmacy (with their keys, so the dispense is sealed to them). */
async function patientAtPharmacy(p: NetworkFile['patients'][number]): Promise<string> {
  const keys = loadPatientKeys(p.keyFile, PASSPHRASE);
  const r = await fetch(`${memberOf(net, PHARMACY).url}/fhir/Patient`, {
    method: 'POST',
    headers: {
      'content-type': 'application/fhir+json',
      authorization: `Bearer ${await staffToken(PHARMACY, 'clinician')}`,
    },
    body: JSON.stringify({
      resourceType: 'Patient',
      name: [{ family: p.family, given: [p.given] }],
      birthDate: p.birthDate,
      identifier: [{ system: PATIENT_ADDRESS_SYSTEM, value: keys.address }],
      extension: [
        {
          url: PATIENT_KEY_EXTENSION,
          valueBase64Binary: Buffer.from(keys.encryptionPublicKey.slice(2), 'hex').toString('base64'),
        },
      ],
    }),
  });
  const body = (await r.json()) as { id?: string };
  assert.equal(r.status, 201, JSON.stringify(body));
  assert.ok(body.id);
  return body.id;
}

describe('pharmacy and manufacturer views in Chromium on a real network', () => {
  test('seeded packs: verify, check digit, recall, expired, dispense, verify again', async () => {
    const [genuine] = heldAtPharmacy('AMX2601');
    const [toRecall] = heldAtPharmacy('MET2602');
    const [expired] = heldAtPharmacy('ATV2401');
    assert.ok(genuine && toRecall && expired);
    const p = pharmacyPage;

    // 1. The pharmacist signs in at the pharmacy's own portal and pastes a pack as a scanner sends
    //    it (ASCII 29 between lot and serial): the parsed identifier shows, then Verified.
    await p.goto(`${memberOf(net, PHARMACY).url}/#/pharmacy`);
    const pharmacist = userOf(net, PHARMACY, 'pharmacist');
    await staffSignIn(p, pharmacist.username, pharmacist.password);
    await shown(p).getByLabel('Code on the pack').waitFor({ timeout: UI_MS });
    await shown(p).getByText('No open alerts.').waitFor({ timeout: UI_MS });
    await shown(p).getByRole('region', { name: 'Inbound shipments' }).waitFor();
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
    // 4. The pharmacist verifies a pack of the recalled lot (as a Digital Link): Recalled, no Dispense.
    verdict = await verifyAtPharmacy(digitalLink(toRecall));
    assert.equal(await verdict.getAttribute('data-saleable'), 'false');
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Recalled');
    assert.match(await verdict.innerText(), /Verified, but Recalled: do not dispense/);
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);
    assert.match(await verdict.innerText(), /Dispensing is not offered/);
    await shot(p, 'supply-05-pharmacy-recalled');
    // The pharmacy's stock of the recalled lot is listed, read on chain, without being told.
    const recalls = shown(p).getByRole('region', { name: 'Recalled lots in stock' });
    await recalls.getByRole('button', { name: 'Refresh' }).click();
    const row = recalls.getByTestId('recalled-lot').filter({ hasText: toRecall.lot });
    await row.waitFor({ timeout: 30_000 });
    const packs = Number(await row.locator('td').nth(3).innerText());
    assert.ok(packs >= heldAtPharmacy('MET2602').length, `the lot's packs held here are listed (${packs})`);
    assert.equal(await recalls.getByTestId('recalls-held').count(), 1, 'said as an alarm');

    // 5. An expired pack: Expired, no Dispense.
    verdict = await verifyAtPharmacy(elementString(expired, '\\x1d'));
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Expired');
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);

    // 6. The genuine pack is dispensed (on chain); verified again, it is not verified: already dispensed.
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

  test('commission, ship, refused and accepted receipts, ship on, dispense to a patient who sees it verified; quarantine, illegitimate, alert; return', async () => {
    // The second seeded Amoxicillin pack (the first was dispensed above): handed back for a return.
    const seeded = heldAtPharmacy('AMX2601')[1];
    assert.ok(seeded);
    const gtin = seeded.gtin;
    const patient = net.patients[0];
    assert.ok(patient?.family && patient.given, 'network.json names the seeded patient');
    const patientId = await patientAtPharmacy(patient);

    // 1. Northwind commissions 4 units of a new lot in cases of 2: the units and cases are listed.
    const m = makerPage;
    await signInAt(m, MAKER, 'manufacturer', 'admin');
    const commission = shown(m).getByRole('region', { name: 'Commission units' });
    await commission.getByLabel('GTIN').fill(gtin);
    await commission.getByLabel('Lot').fill('STY2701');
    await commission.getByLabel('Expiry (YYMMDD)').fill('291231');
    await commission.getByLabel('Units', { exact: true }).fill('4');
    await commission.getByLabel('Units per case (optional)').fill('2');
    await commission.getByRole('button', { name: 'Commission' }).click();
    const made = commission.getByTestId('commissioned');
    await made.waitFor({ timeout: UI_MS });
    assert.match(
      await made.innerText(),
      /Commissioned 4 units of lot STY2701 \(GTIN \d{14}, expires 31 Dec 2029\) in 2 cases/,
    );
    const [case1, case2] = await made.getByTestId('case-sscc').allInnerTexts();
    assert.ok(case1 && case2 && /^\d{18}$/.test(case1), `two SSCCs: ${case1}, ${case2}`);
    const rows = made.getByTestId('unit-row');
    assert.equal(await rows.count(), 4);
    const unitsOf = async (sscc: string) =>
      (await rows.filter({ hasText: sscc }).locator('td:first-child').allInnerTexts()).map((serial) => ({
        gtin,
        serial,
        lot: 'STY2701',
        expiry: '291231',
      }));
    const [toDispense, toQuarantine] = await unitsOf(case1);
    assert.ok(toDispense && toQuarantine);
    await shot(m, 'supply-08-manufacturer-commissioned');

    // 2. Northwind ships both cases to Harbor Wholesale Distribution.
    assert.match(
      await shipFrom(m, DISTRIBUTOR, [case1, case2]),
      new RegExp(`Shipped 4 units in 2 cases to ${DISTRIBUTOR}`),
    );

    // 3. Harbor's pharmacist scans one case of the two: refused, the missing case named; then all received.
    const d = distributorPage;
    await signInAt(d, DISTRIBUTOR, 'pharmacy', 'pharmacist');
    let inbound = await inboundWith(d, case1);
    await inbound.getByLabel(/^What arrived/).fill(case1);
    await inbound.getByRole('button', { name: 'Check and receive what was scanned' }).click();
    const findings = shown(d).getByTestId('receipt-findings');
    await findings.waitFor({ timeout: UI_MS });
    const refused = await findings.innerText();
    assert.match(refused, /Receipt refused: 1 finding\./);
    assert.match(refused, new RegExp(`Case announced but not scanned: ${case2}`));
    assert.match(refused, /Nothing was recorded/);
    await shot(d, 'supply-09-distributor-receipt-refused');
    await auditAccessibility(d, 'distributor: inbound shipment, receipt refused');
    await inbound.getByRole('button', { name: 'Receive all as announced' }).click();
    await shown(d)
      .getByText(/^Received 4 units in 2 cases from/)
      .waitFor({ timeout: UI_MS });
    assert.equal(await shown(d).getByTestId('receipt-findings').count(), 0);

    // 4. Harbor's administrator ships the first case on to Main Street Pharmacy.
    await signInAt(d, DISTRIBUTOR, 'pharmacy', 'admin');
    assert.match(
      await shipFrom(d, PHARMACY, [case1]),
      new RegExp(`Shipped 2 units in 1 case to ${PHARMACY}`),
    );

    // 5. Main Street's pharmacist receives it, verifies a pack and dispenses it to the patient.
    const p = pharmacyPage;
    await signInAt(p, PHARMACY, 'pharmacy', 'pharmacist');
    inbound = await inboundWith(p, case1);
    await inbound.getByRole('button', { name: 'Receive all as announced' }).click();
    await shown(p)
      .getByText(/^Received 2 units in 1 case from/)
      .waitFor({ timeout: UI_MS });
    let verdict = await verifyAtPharmacy(elementString(toDispense, GS));
    assert.equal(await verdict.getAttribute('data-saleable'), 'true');
    await verdict.getByLabel('Patient (optional)').fill(`Patient/${patientId}`);
    await verdict.getByRole('button', { name: 'Dispense' }).click();
    const dispensed = shown(p).locator('.note-ok', { hasText: 'Dispensed.' });
    await dispensed.waitFor({ timeout: UI_MS });
    assert.match(
      await dispensed.innerText(),
      new RegExp(`Stored as MedicationDispense/\\S+ for Patient/${patientId}`),
    );
    await shot(p, 'supply-10-pharmacy-dispensed-to-patient');

    // 6. The patient imports their key file and sees the medicine was verified authentic.
    const pt = patientPage;
    await pt.goto(`${memberOf(net, PHARMACY).url}/#/patient`);
    await importKey(pt, patient.keyFile);
    await shown(pt).getByText('Signed in with your key').waitFor({ timeout: UI_MS });
    const medications = shown(pt).getByRole('region', { name: 'Medications' });
    const item = medications.locator('li', { hasText: 'verified authentic by Northwind Pharmaceuticals' });
    await item.waitFor({ timeout: UI_MS });
    assert.match(
      await item.innerText(),
      new RegExp(`dispensed · verified authentic by ${MAKER} on \\d{4}-\\d{2}-\\d{2}`),
    );
    assert.match(await item.getByTestId('record-badge').innerText(), /verified authentic/);
    assert.match((await item.getByTestId('record-badge').getAttribute('class')) ?? '', /tag-ok/);
    await item.scrollIntoViewIfNeeded();
    await shot(pt, 'supply-11-patient-verified-dispense');
    await shot(pt, 'patient-verified-dispense', false); // copied to docs/screenshots/ for the README
    await auditAccessibility(pt, 'patient: verified dispense');

    // 7. The pharmacist quarantines the other pack: verified again, it is Suspect and not dispensable.
    verdict = await verifyAtPharmacy(elementString(toQuarantine, GS));
    await verdict.getByLabel('Why is it suspect?').fill('seal broken on arrival');
    await verdict.getByRole('button', { name: 'Quarantine this pack' }).click();
    await shown(p).locator('.note-ok', { hasText: 'Quarantined.' }).waitFor({ timeout: UI_MS });
    await shown(p).getByRole('button', { name: 'Verify', exact: true }).click();
    verdict = shown(p).getByTestId('verdict');
    await verdict.waitFor({ timeout: UI_MS });
    assert.equal(await verdict.getByTestId('additional-info').innerText(), 'Suspect');
    assert.equal(await verdict.getAttribute('data-saleable'), 'false');
    assert.equal(await verdict.getByRole('button', { name: 'Dispense' }).count(), 0);
    await shot(p, 'supply-12-pharmacy-suspect');

    // 8. Northwind declares it illegitimate: Harbor and Main Street are notified.
    const decide = shown(m).getByRole('region', { name: 'Quarantine decisions' });
    await decide.getByLabel('GTIN').fill(gtin);
    await decide.getByLabel('Serial').fill(toQuarantine.serial);
    await decide.getByLabel('Finding').fill('laboratory analysis: counterfeit');
    await decide.getByRole('button', { name: 'Declare illegitimate' }).click();
    const notice = decide.getByTestId('notice');
    await notice.waitFor({ timeout: UI_MS });
    const noticeText = await notice.innerText();
    for (const who of [PHARMACY, DISTRIBUTOR]) assert.match(noticeText, new RegExp(`${who} \\(delivered\\)`));
    await shot(m, 'supply-13-manufacturer-illegitimate');

    // 9. Main Street's alert: the deadline and time left (24 hours from receipt), then acknowledged.
    const alerts = shown(p).getByRole('region', { name: 'Alerts' });
    await alerts.getByRole('button', { name: 'Refresh' }).click();
    const alert = alerts.getByTestId('alert-row').filter({ hasText: toQuarantine.serial });
    await alert.waitFor({ timeout: UI_MS });
    assert.match(await alert.innerText(), /illegitimate[\s\S]*laboratory analysis: counterfeit/);
    assert.match(await alert.innerText(), new RegExp(`${MAKER}`));
    assert.match(await alert.getByTestId('alert-time-left').innerText(), /^2[34] h \d+ min left$/);
    assert.match(
      await alert.getByTestId('alert-deadline').innerText(),
      /\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}/,
    );
    assert.equal(await alert.getAttribute('data-overdue'), 'false');
    assert.equal(await alerts.getByTestId('alerts-overdue').count(), 0);
    await alert.scrollIntoViewIfNeeded();
    await shot(p, 'supply-14-pharmacy-alert');
    await auditAccessibility(p, 'pharmacy: alert with deadline');
    await alert.getByRole('button', { name: /^Acknowledge/ }).click();
    await alerts
      .getByText(/^Acknowledged the illegitimate notice for lot STY2701/)
      .waitFor({ timeout: UI_MS });
    assert.equal(await alerts.getByTestId('alert-row').filter({ hasText: toQuarantine.serial }).count(), 0);

    // 10. A saleable return: Main Street's administrator hands a seeded pack back to Harbor (custody
    //     on chain), and Harbor's pharmacist accepts it back into stock after verifying it.
    await signInAt(p, PHARMACY, 'pharmacy', 'admin');
    assert.match(
      await shipFrom(p, DISTRIBUTOR, [digitalLink(seeded)]),
      new RegExp(`Shipped 1 unit to ${DISTRIBUTOR}`),
    );
    await signInAt(d, DISTRIBUTOR, 'pharmacy', 'pharmacist');
    verdict = await verifyAtPharmacy(elementString(seeded, GS), d);
    assert.equal(await verdict.getAttribute('data-saleable'), 'true');
    await verdict.getByRole('button', { name: 'Receive as a saleable return' }).click();
    await shown(d).locator('.note-ok', { hasText: 'Return accepted.' }).waitFor({ timeout: UI_MS });
  });

  test('the pharmacy and manufacturer views pass axe-core’s WCAG 2 A and AA checks', async () => {
    // The pharmacy view with a verdict on screen (from the test above, or a fresh one).
    const p = pharmacyPage;
    if ((await shown(p).getByTestId('verdict').count()) === 0) {
      await signInAt(p, PHARMACY, 'pharmacy', 'pharmacist');
      await verifyAtPharmacy(elementString(heldAtPharmacy('MET2602')[1] as DemoUnit, GS));
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
