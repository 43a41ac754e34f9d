/**
 * The portal's main story in a real browser (Debian Chromium) against a real local network
 * (`medchain up`: anvil, contracts, five member node processes): a patient grants labs to Valley
 * Clinic; a Valley Clinic clinician sees the lab results held at Central Lab; the patient sees
 * that access listed and verified in the browser; the patient revokes; the clinician is told that
 * Central Lab did not share (and the lab section does not read "No … recorded"); a break-glass
 * read appears highlighted in the patient's list; the administrator verifies the log.
 * Screenshots of each step go to test-artifacts/portal/.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { NetworkFile } from '../../src/node/localNetwork.js';
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
let patientPage: Page;
let clinicianPage: Page;
portalTestbed('medchain-portal-', ['patient', 'staff'], (bed) => {
  net = bed.network.net;
  patientPage = bed.page('patient');
  clinicianPage = bed.page('staff');
});

const member = (name: string) => memberOf(net, name);
const user = (memberName: string, role: string) => userOf(net, memberName, role);

/** Open a patient by chain address (the advanced option under "Find a patient"). */
async function openPatient(page: Page, address: string) {
  const advanced = shown(page).locator('details', { hasText: 'Open by chain address' });
  if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click();
  await shown(page).getByLabel('Patient chain address').fill(address);
  await shown(page).getByRole('button', { name: 'Open', exact: true }).click();
  await page.getByText('Reading records from the members').waitFor({ state: 'detached', timeout: UI_MS });
}

/**
 * Find a patient as a clinician does: by name and birth date, asking every member (patient
 * discovery); the match shows the chain address in short and the members that may hold records.
 */
async function findPatient(
  page: Page,
  who: { family: string; given: string; birthDate: string; address: string },
  holders: readonly string[],
) {
  await shown(page).getByLabel('Family name').fill(who.family);
  await shown(page).getByLabel('Given name').fill(who.given);
  await shown(page).getByLabel('Birth date').fill(who.birthDate);
  await shown(page).getByRole('button', { name: 'Search', exact: true }).click();
  const results = shown(page).getByRole('region', { name: 'Matching patients' });
  await results.waitFor({ timeout: UI_MS });
  const row = results.locator('li', { hasText: new RegExp(who.address.slice(-6), 'i') });
  const text = await row.innerText();
  for (const h of holders) assert.ok(text.includes(h), `the match says ${h} may hold records: ${text}`);
  assert.ok(
    !text.includes(who.family) && !text.includes(who.birthDate),
    `only the address comes back: ${text}`,
  );
  await row.getByRole('button', { name: /Open patient/ }).click();
  await page.getByText('Reading records from the members').waitFor({ state: 'detached', timeout: UI_MS });
}

/** Re-check the access list until `row` has the wanted proof status (anchoring runs every second). */
async function untilVerified(page: Page, row: () => Locator) {
  const started = Date.now();
  while (Date.now() - started < 3 * UI_MS) {
    await shown(page).getByTestId('access-summary').waitFor({ timeout: UI_MS });
    if ((await row().count()) > 0 && (await row().first().getAttribute('data-status')) === 'verified') return;
    await page.waitForTimeout(1000);
    await shown(page).getByRole('button', { name: 'Check again' }).click();
    await page.getByText(/Fetching and verifying/).waitFor({ state: 'detached', timeout: UI_MS });
  }
  assert.fail(
    `no verified row within ${(3 * UI_MS) / 1000} s: ${await shown(page).locator('table.access').innerText()}`,
  );
}

describe('portal main story in Chromium on a real network', () => {
  test('grant, read across members, verified access list, revoke, denial, break-glass, admin check', async () => {
    const patient = net.patients[0];
    assert.ok(patient);
    const hospital = member('City Hospital');
    const valley = member('Valley Clinic');

    // 1. The patient imports their key file at City Hospital's portal and sees records from every member.
    const p = patientPage;
    await p.goto(`${hospital.url}/#/patient`);
    await importKey(p, patient.keyFile);
    await shown(p).getByText('Signed in with your key').waitFor({ timeout: UI_MS });
    await shown(p).locator('table.labs tr', { hasText: 'Central Lab' }).first().waitFor({ timeout: UI_MS });
    await shown(p).locator('.vital').first().waitFor();
    // The patient's own name and details, from the Patient records the members hold.
    const me = await shown(p).getByTestId('patient-header').innerText();
    assert.ok(me.includes(patient.name), `the patient's name in the header: ${me}`);
    assert.match(me, /Born \d{1,2} [A-Z][a-z]{2} \d{4} \(\d+\)/);
    // Blood pressure is one chart (systolic and diastolic), first; units as people write them.
    const vitals = await shown(p).locator('.vital figcaption').allInnerTexts();
    assert.match(vitals[0] ?? '', /^Blood pressure \(mmHg\)/);
    assert.equal(vitals.filter((v) => /systolic|diastolic/i.test(v.split('●')[0] ?? '')).length, 0);
    assert.doesNotMatch(await shown(p).locator('.timeline').innerText(), /mm\[Hg\]/);
    assert.match(
      await shown(p).getByRole('list', { name: 'Records per member' }).innerText(),
      /Central Lab: \d+ records/,
    );
    await shot(p, '01-patient-records');

    // 2. The patient shares lab results with Valley Clinic for treatment; the grant shows once on chain.
    await shown(p).getByRole('tab', { name: 'Consent' }).click();
    await shown(p).getByLabel('Member', { exact: true }).selectOption(valley.address);
    await shown(p)
      .getByRole('checkbox', { name: /^Lab results/ })
      .check();
    await shown(p).getByRole('checkbox', { name: 'treatment' }).check();
    await shown(p).getByRole('button', { name: 'Sign and share' }).click();
    await shown(p)
      .getByText(/Valley Clinic may now see labs for treatment/)
      .waitFor({ timeout: UI_MS });
    const grantRow = shown(p).locator('table.grants tr[data-member="Valley Clinic"]');
    assert.match(await grantRow.innerText(), /labs\s+treatment[\s\S]*in force/);
    await shot(p, '02-consent-granted');

    // 3. A Valley Clinic clinician: a wrong password is refused clearly; then the labs held at Central Lab show.
    const c = clinicianPage;
    await c.goto(`${valley.url}/#/clinician`);
    const clinician = user('Valley Clinic', 'clinician');
    await staffSignIn(c, clinician.username, 'not-the-password');
    await shown(c).getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
    await staffSignIn(c, clinician.username, clinician.password);
    // Found by name and birth date (no address typed): every seeding member may hold records.
    const { family, given, birthDate } = patient;
    assert.ok(family && given && birthDate, 'network.json names the seeded patient');
    // Typed as a clinician might: other case; the node normalizes before it tokenizes.
    await findPatient(
      c,
      { family: family.toUpperCase(), given: given.toLowerCase(), birthDate, address: patient.address },
      ['Central Lab', 'City Hospital', 'Valley Clinic'],
    );
    await shot(c, '03a-clinician-finds-patient-by-name');
    await shown(c).locator('table.labs tr', { hasText: 'Central Lab' }).first().waitFor({ timeout: UI_MS });
    // The chart says whose it is: name, birth date, address in short.
    const header = await shown(c).getByTestId('patient-header').innerText();
    assert.ok(header.includes(patient.name), `the patient's name in the chart header: ${header}`);
    assert.match(header, /Born \d{1,2} [A-Z][a-z]{2} \d{4} \(\d+\)/);
    assert.match(header, /\d+ [A-Z][a-z]+ (Street|Lane|Road|Avenue), [A-Z][a-z]+/);
    assert.match(
      await shown(c).locator('section', { hasText: 'Consent on chain' }).innerText(),
      /see labs for treatment/,
    );
    // Labs only were shared (by every member): the lab section says what else was not shared.
    assert.match(
      await shown(c).getByRole('region', { name: 'Lab results' }).innerText(),
      /Central Lab[^.]* did not share lab results with you in these categories: general, imaging, mental health,/,
    );
    await shot(c, '03-clinician-sees-central-lab-labs');

    // 4. The patient sees that read in Central Lab's log, verified in the browser against the anchored head.
    await shown(p).getByRole('tab', { name: 'Who accessed my records' }).click();
    // One row for that chart opening, in words: who read how many of what, held where, and why.
    const labRead = () =>
      shown(p).locator('table.access tr[data-kind="partly"], table.access tr[data-kind="shared"]', {
        hasText: /Valley Clinic read \d+ results held at Central Lab/,
      });
    await untilVerified(p, labRead);
    assert.equal(await labRead().count(), 1, 'one row for one chart opening');
    const readText = await labRead().first().innerText();
    assert.match(readText, /Valley Clinic read 8 results held at Central Lab/);
    assert.match(readText, /for treatment/);
    assert.match(readText, /\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}/, 'the one date format');
    const table = await shown(p).locator('table.access').innerText();
    assert.doesNotMatch(table, /0x[0-9a-fA-F]{6}/, 'readers by name, not by address');
    assert.doesNotMatch(table, /×/, 'no per-entry counts');
    assert.match(await shown(p).getByTestId('access-summary').innerText(), /\d+ verified/);
    // The search by name and birth date shows too: Valley Clinic asked Central Lab whether it holds records.
    assert.match(
      table,
      /Valley Clinic asked whether you have records here \(a search by name and birth date; no records shared\)[^\n]*Central Lab/,
      'the patient sees that Valley Clinic looked them up at Central Lab',
    );
    await shot(p, '04-patient-sees-access-verified', false);

    // 5. The patient revokes Valley Clinic's access.
    await shown(p).getByRole('tab', { name: 'Consent' }).click();
    await shown(p).getByRole('button', { name: 'Revoke Valley Clinic' }).click();
    await shown(p).getByText('Valley Clinic can no longer see your records').waitFor({ timeout: UI_MS });
    assert.equal(await shown(p).locator('table.grants tr[data-member="Valley Clinic"]').count(), 0);
    await shot(p, '05-consent-revoked');

    // 6. The clinician reads again: Central Lab does not share, and no Central Lab labs are shown.
    // The summary says so once for Central Lab, and the lab section names it instead of reading
    // "No lab results recorded" (the same words whether or not Central Lab holds any).
    await openPatient(c, patient.address);
    await shown(c)
      .locator('.refusals li')
      .filter({ hasText: /^Central Lab did not share any records with you: the patient has not consented/ })
      .waitFor({ timeout: UI_MS });
    assert.equal(
      await shown(c)
        .locator('.refusals li', { hasText: /^Central Lab / })
        .count(),
      1,
      'one summary line for Central Lab',
    );
    assert.equal(await shown(c).locator('table.labs tr', { hasText: 'Central Lab' }).count(), 0);
    const labs = shown(c).getByRole('region', { name: 'Lab results' });
    const labsText = await labs.innerText();
    assert.match(labsText, /Central Lab[^.]* did not share lab results with you\./);
    assert.match(labsText, /Ask the patient for consent, or break the glass in an emergency\./);
    assert.doesNotMatch(labsText, /\bNo\b.*\brecorded\b/);
    // Its "Ask the patient for consent" opens the request form.
    await labs.getByRole('button', { name: 'Ask the patient for consent' }).click();
    await shown(c).getByLabel('Link for the patient').waitFor();
    assert.match(
      await shown(c).locator('section', { hasText: 'Consent on chain' }).innerText(),
      /has not shared/,
    );
    await shot(c, '06-clinician-denied-after-revoke');

    // 7. An emergency clinician breaks the glass with a reason; the labs show, with a warning.
    await shown(c).getByRole('button', { name: 'Sign out' }).click();
    const er = user('Valley Clinic', 'emergency-clinician');
    await staffSignIn(c, er.username, er.password);
    await openPatient(c, patient.address);
    await shown(c)
      .getByLabel(/^Reason/)
      .fill('Unconscious patient in the emergency room, no relative reachable');
    await shown(c)
      .getByLabel(/I understand this access is logged/)
      .check();
    await shown(c).getByRole('button', { name: 'Break the glass' }).click();
    await shown(c).locator('table.labs tr', { hasText: 'Central Lab' }).first().waitFor({ timeout: UI_MS });
    await shown(c)
      .getByText(/Break-glass access: every record read now is logged/)
      .waitFor();
    await shot(c, '07-break-glass-read');

    // 8. The patient's list shows the break-glass read highlighted, and verified.
    await shown(p).getByRole('tab', { name: 'Who accessed my records' }).click();
    const glassRow = () => shown(p).locator('table.access tr.breakglass', { hasText: 'Central Lab' });
    await untilVerified(p, glassRow);
    assert.match(await glassRow().first().innerText(), /break-glass/i);
    assert.match(await glassRow().first().innerText(), /in an emergency, without consent/);
    // The read after the revoke: Central Lab shared nothing, said in words, nothing counted as leaked.
    // (Every member asked names itself: "…, Central Lab, City Hospital and … shared nothing".)
    const refusedRow = shown(p).locator('table.access tr[data-kind="partly"]', {
      hasText: /Central Lab[^.;]* shared nothing \(no consent\)/,
    });
    assert.equal(await refusedRow.count(), 1, await shown(p).locator('table.access').innerText());
    const refusedText = await refusedRow.first().innerText();
    assert.match(refusedText, /Valley Clinic read \d+ results[^.]* held at Valley Clinic itself\./);
    assert.doesNotMatch(
      refusedText,
      /held at Central Lab/,
      'nothing of Central Lab’s was read after the revoke',
    );
    await shot(p, '08-patient-sees-break-glass', false);

    // 9. Valley Clinic's administrator: members online, log head anchored, verify now, outbox.
    await c.goto(`${valley.url}/#/admin`);
    await c.reload();
    const admin = user('Valley Clinic', 'admin');
    await staffSignIn(c, admin.username, admin.password);
    await shown(c).getByText('online').first().waitFor({ timeout: UI_MS });
    await shown(c).getByRole('button', { name: 'Verify now' }).click();
    await shown(c)
      .getByText(/^Intact: \d+ log entries/)
      .waitFor({ timeout: UI_MS });
    assert.equal(await shown(c).locator('td .tag-ok', { hasText: 'online' }).count(), net.members.length);
    await shown(c).getByTestId('outbox-pending').waitFor();
    await shot(c, '09-admin');
  });

  test('the views pass axe-core’s WCAG 2 A and AA checks, and fit a phone screen', async () => {
    const p = patientPage;
    for (const tab of ['My records', 'Consent', 'Who accessed my records']) {
      await shown(p).getByRole('tab', { name: tab, exact: true }).click();
      await p.waitForTimeout(500);
      await auditAccessibility(p, `patient: ${tab}`);
    }
    await auditAccessibility(clinicianPage, 'administrator');
    await clinicianPage.goto(`${member('Valley Clinic').url}/#/clinician`);
    await shown(clinicianPage).getByLabel('User name').waitFor();
    await auditAccessibility(clinicianPage, 'clinician sign-in');

    // A phone: the records view wraps instead of scrolling sideways (wide tables scroll in their box).
    await p.setViewportSize({ width: 390, height: 844 });
    await shown(p).getByRole('tab', { name: 'My records', exact: true }).click();
    await p.waitForTimeout(500);
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone screen`);
    await shot(p, '10-patient-records-phone');
  });

  test('clear errors: an expired staff session and an offline member say what to do next', async () => {
    const c = clinicianPage;
    const p = patientPage;
    const patient = net.patients[0];
    assert.ok(patient);
    const clinician = user('Valley Clinic', 'clinician');
    await staffSignIn(c, clinician.username, clinician.password);
    // The node's answer to a token that has expired (tokens last 15 minutes).
    await c.route(
      (url) => url.pathname === '/fhir/Observation',
      (route) =>
        route.fulfill({
          status: 401,
          contentType: 'application/fhir+json',
          body: JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [
              {
                severity: 'error',
                code: 'login',
                details: {
                  text: 'the access token is unknown or expired; sign in again at POST /auth/login',
                },
              },
            ],
          }),
        }),
      { times: 1 },
    );
    await openPatient(c, patient.address);
    await shown(c).getByRole('alert').filter({ hasText: 'Your session has ended. Sign in again.' }).waitFor();
    await shown(c).getByLabel('User name').waitFor();
    await shot(c, '11-staff-session-expired');

    // A member whose node does not answer: its records are missing, and the patient is told so.
    const pharmacy = member('Main Street Pharmacy');
    await p.setViewportSize({ width: 1280, height: 900 });
    await p.route(`${pharmacy.url}/**`, (route) => route.abort('connectionrefused'));
    await shown(p).getByRole('button', { name: 'Refresh' }).click();
    await shown(p)
      .getByRole('list', { name: 'Records per member' })
      .getByText('Main Street Pharmacy cannot be reached; it may be offline')
      .waitFor({ timeout: UI_MS });
    await shown(p).getByText('Some members did not answer; their records are missing below').waitFor();
    assert.match(
      await shown(p).getByRole('list', { name: 'Records per member' }).innerText(),
      /Central Lab: \d+ records/,
    );
    await shot(p, '12-member-offline');
    await p.unroute(`${pharmacy.url}/**`);
  });

  test('a clinician’s request link opens the patient’s consent form filled in, and nothing more', async () => {
    const c = clinicianPage;
    const p = patientPage;
    const patient = net.patients[0];
    assert.ok(patient);
    const valley = member('Valley Clinic');
    const clinician = user('Valley Clinic', 'clinician');
    await staffSignIn(c, clinician.username, clinician.password);
    await openPatient(c, patient.address);
    await shown(c).getByText('Ask the patient for more').click();
    const link = await shown(c).getByLabel('Link for the patient').inputValue();
    assert.match(link, /#\/patient\?request=0x[0-9a-fA-F]{40}&categories=general%2Clabs&purposes=treatment$/);
    // The patient opens it (a new origin: the key is imported there too, and stays in that browser profile).
    await p.goto(link);
    await importKey(p, patient.keyFile);
    await shown(p)
      .getByText('Valley Clinic asks you to share general, labs for treatment')
      .waitFor({ timeout: UI_MS });
    assert.equal(await shown(p).getByLabel('Member', { exact: true }).inputValue(), valley.address);
    assert.ok(
      await shown(p)
        .getByRole('checkbox', { name: /^Lab results/ })
        .isChecked(),
    );
    assert.ok(
      await shown(p)
        .getByRole('checkbox', { name: /^General/ })
        .isChecked(),
    );
    assert.ok(
      !(await shown(p)
        .getByRole('checkbox', { name: /^Medications/ })
        .isChecked()),
    );
    await shot(p, '13-consent-request-link');

    // Signed: then a second request, for medications only, keeps what was already shared ticked.
    await shown(p).getByRole('button', { name: 'Sign and share' }).click();
    await shown(p)
      .getByText(/Valley Clinic may now see general, labs for treatment/)
      .waitFor({ timeout: UI_MS });
    await p.goto(link.replace('categories=general%2Clabs', 'categories=medications'));
    await p.reload();
    await shown(p).getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await shown(p).getByRole('button', { name: 'Unlock' }).click();
    await shown(p)
      .getByText('Valley Clinic already has general, labs for treatment')
      .waitFor({ timeout: UI_MS });
    for (const name of [/^General/, /^Lab results/, /^Medications/])
      assert.ok(await shown(p).getByRole('checkbox', { name }).isChecked(), String(name));
  });
});
