/**
 * The claims views in a real browser (Debian Chromium) against a real local network (`medchain
 * up`: seven members). Before: City Hospital's billing user submits two claims of a seeded patient
 * through the real `POST /fhir/Claim/$submit` to Acme Health Insurance, a clean one and its exact
 * duplicate (another Claim id). Then: Acme's billing user sees both in the queue, the duplicate
 * denied CARC 18 with its fraud flag; City Hospital's billing user sees the denial reason; the
 * patient (key file imported) sees both claims, disputes the clean one in the browser, and it
 * becomes Disputed (on screen and on chain). axe-core checks each view (WCAG 2 A/AA). Screenshots
 * go to test-artifacts/portal/ (claims-*.png).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Bundle, ClaimResponse, Coverage, Encounter } from '@medplum/fhirtypes';
import type { Browser, Page } from 'playwright-core';
import { type Address, createPublicClient, type Hex, http } from 'viem';
import { auditAnchorAbi, claimsAbi } from '../../src/chain/generated/index.js';
import type { NetworkFile } from '../../src/node/localNetwork.js';
import { launchChromium, requireChromium } from './browser.js';
import {
  auditAccessibility,
  buildPortal,
  memberOf,
  PASSPHRASE,
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

const PROVIDER = 'City Hospital';
const INSURER = 'Acme Health Insurance';
let network: PortalNetwork;
let net: NetworkFile;
let browser: Browser;
let page: Page;
let clean: Hex;
let duplicate: Hex;

const chainClient = () => createPublicClient({ transport: http(net.chain.rpcUrl) });

/** Wait for `ok()` to hold, up to `ms`; fails naming `what`. */
async function until(what: string, ok: () => Promise<boolean>, ms = UI_MS): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A staff user's call at a member node, as JSON. */
async function asBilling<T = Bundle>(
  member: string,
  pathAndQuery: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const u = userOf(net, member, 'billing');
  const base = memberOf(net, member).url;
  const login = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password }),
  });
  const { access_token } = (await login.json()) as { access_token: string };
  const r = await fetch(`${base}${pathAndQuery}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/fhir+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as T };
}

/** The on-chain state number of a claim (Claims.State; 0 before the payer's first decision). */
async function stateOnChain(claimId: Hex): Promise<{ state: number; payer: string }> {
  const c = await chainClient().readContract({
    address: net.chain.contracts.Claims as Address,
    abi: claimsAbi,
    functionName: 'claimOf',
    args: [claimId],
  });
  return { state: c.state, payer: c.payer };
}

const claimIdOf = (r: { identifier?: { system?: string; value?: string }[] | undefined }) =>
  r.identifier?.find((i) => i.system === 'urn:medchain:claim')?.value as Hex;

before(async () => {
  requireChromium();
  buildPortal();
  network = await startNetwork('medchain-claims-portal-');
  net = network.net;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });

  // The seeded patient's Encounter, Patient and Acme Coverage at City Hospital, as its billing user reads them.
  const patient = net.patients[0];
  assert.ok(patient);
  const hospital = memberOf(net, PROVIDER).address;
  const acme = memberOf(net, INSURER).address;
  const enc = await asBilling(PROVIDER, `/fhir/Encounter?patient=${patient.address}`);
  assert.equal(enc.status, 200, JSON.stringify(enc.body));
  const encounter = enc.body.entry?.[0]?.resource as Encounter | undefined;
  assert.ok(encounter?.id, 'City Hospital holds a seeded Encounter of the patient');
  const cov = await asBilling(PROVIDER, `/fhir/Coverage?patient=${patient.address}`);
  const coverage = (cov.body.entry ?? [])
    .map((e) => e.resource as Coverage)
    .find((c) => c.payor?.[0]?.identifier?.value?.toLowerCase() === acme.toLowerCase());
  assert.ok(coverage?.id, 'City Hospital holds the patient’s Coverage with Acme');

  // The Encounter's creation must be in a head anchored before the claim (else the line pends 252).
  await until('City Hospital’s first anchored log head', async () => {
    const h = await chainClient().readContract({
      address: net.chain.contracts.AuditAnchor as Address,
      abi: auditAnchorAbi,
      functionName: 'latestHead',
      args: [hospital],
    });
    return h.treeSize > 0n;
  });
  const block = await chainClient().getBlock();
  const created = new Date(Math.max(Date.now(), Number(block.timestamp) * 1000) + 2000).toISOString();
  const date = String(encounter.period?.start ?? created).slice(0, 10);
  const claim = (id: string) => ({
    resourceType: 'Claim',
    id,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: {
      reference: encounter.subject?.reference,
      identifier: { system: 'urn:medchain:patient', value: patient.address },
    },
    created,
    provider: { identifier: { system: 'urn:medchain:member', value: hospital } },
    insurer: { identifier: { system: 'urn:medchain:member', value: acme } },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${coverage.id}` } }],
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'R51.9' }],
        },
      },
    ],
    item: [
      {
        sequence: 1,
        productOrService: { coding: [{ system: 'urn:medchain:procedure', code: 'Z1020' }] },
        servicedDate: date,
        quantity: { value: 1 },
        unitPrice: { value: 180, currency: 'USD' },
        net: { value: 180, currency: 'USD' },
        diagnosisSequence: [1],
        encounter: [{ reference: `Encounter/${encounter.id}` }],
      },
    ],
    total: { value: 180, currency: 'USD' },
  });
  const first = await asBilling<ClaimResponse>(
    PROVIDER,
    '/fhir/Claim/$submit',
    claim(`portal-clean-${Date.now()}`),
  );
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.notEqual(first.body.outcome, 'error', JSON.stringify(first.body));
  clean = claimIdOf(first.body);
  const second = await asBilling<ClaimResponse>(
    PROVIDER,
    '/fhir/Claim/$submit',
    claim(`portal-dup-${Date.now()}`),
  );
  assert.equal(second.status, 200, JSON.stringify(second.body));
  duplicate = claimIdOf(second.body);
  assert.ok(clean && duplicate && clean !== duplicate);
  // Both decisions on chain (the insurer records them in a batch through its outbox).
  await until('both decisions on chain', async () =>
    (await Promise.all([clean, duplicate].map(stateOnChain))).every((c) => !/^0x0{40}$/.test(c.payer)),
  );
});

afterEach(async (t) => {
  if (!browser || (t as unknown as { passed?: boolean }).passed !== false) return;
  await page?.screenshot({ path: path.join(shots, 'failure-claims.png'), fullPage: true }).catch(() => {});
});

after(async () => {
  await browser?.close();
  await stopNetwork(network);
});

/** The row of a claim in the staff view on screen, refreshed until `text` shows in its `cell`. */
async function rowShows(claimId: Hex, cell: string, text: RegExp) {
  const row = shown(page).locator(`tr[data-claim-id="${claimId}"]`);
  await until(`${claimId.slice(0, 10)} ${cell} to show ${text}`, async () => {
    if ((await row.count()) > 0 && text.test(await row.getByTestId(cell).innerText())) return true;
    await shown(page).getByRole('button', { name: 'Refresh' }).click();
    await shown(page).getByText('Reading the claims…').waitFor({ state: 'detached', timeout: UI_MS });
    return false;
  });
  return row;
}

describe('claims views in Chromium on a real network', () => {
  test('the insurer’s queue, the provider’s reasons, the patient’s dispute', async () => {
    // 1. Acme's billing user: the queue shows both claims, the duplicate denied CARC 18, flagged.
    await page.goto(`${memberOf(net, INSURER).url}/#/claims`);
    const acmeBilling = userOf(net, INSURER, 'billing');
    await staffSignIn(page, acmeBilling.username, acmeBilling.password);
    await shown(page).getByRole('heading', { name: 'Claims queue' }).waitFor({ timeout: UI_MS });
    const dupRow = await rowShows(duplicate, 'held-state', /Denied/);
    assert.match(await dupRow.getByTestId('held-reasons').innerText(), /CARC 18/);
    assert.match(await dupRow.getByTestId('held-flags').innerText(), /Duplicate/);
    const cleanRow = await rowShows(clean, 'held-state', /Approved|Pended/);
    assert.doesNotMatch(await cleanRow.getByTestId('held-flags').innerText(), /Duplicate/);
    assert.ok(
      !(await shown(page).innerText()).includes(net.patients[0]?.name ?? '\u0000'),
      'no patient name',
    );
    await auditAccessibility(page, 'insurer queue');
    await shot(page, 'claims-insurer');

    // 2. City Hospital's billing user: the submitted claims, and why the duplicate was denied.
    await page.goto(`${memberOf(net, PROVIDER).url}/#/claims`);
    const hospitalBilling = userOf(net, PROVIDER, 'billing');
    await staffSignIn(page, hospitalBilling.username, hospitalBilling.password);
    await shown(page).getByRole('heading', { name: 'Submitted claims' }).waitFor({ timeout: UI_MS });
    const denied = await rowShows(duplicate, 'held-state', /Denied/);
    assert.match(await denied.getByTestId('held-reasons').innerText(), /CARC 18/);
    await auditAccessibility(page, 'provider submitted claims');
    await shot(page, 'claims-provider');

    // 3. The patient: both claims, the clean one disputed in the browser, then Disputed.
    const patient = net.patients[0];
    assert.ok(patient);
    await page.goto(`${memberOf(net, PROVIDER).url}/#/patient`);
    await shown(page).getByRole('tab', { name: 'Import a key' }).click();
    await shown(page)
      .getByLabel(/^Key file/)
      .setInputFiles(patient.keyFile);
    await shown(page).getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await shown(page).getByRole('button', { name: 'Import' }).click();
    await shown(page).getByText('Signed in with your key').waitFor({ timeout: UI_MS });
    await shown(page).getByRole('tab', { name: 'My claims' }).click();
    const card = (id: Hex) => shown(page).locator(`li[data-claim-id="${id}"]`);
    await card(clean).waitFor({ timeout: UI_MS });
    await card(duplicate).waitFor({ timeout: UI_MS });
    assert.match(await card(duplicate).getByTestId('claim-state').innerText(), /Denied/);
    const cleanCard = card(clean);
    await cleanCard.getByRole('button', { name: /I was not seen that day/ }).waitFor({ timeout: UI_MS });
    assert.match(await cleanCard.innerText(), /Visit on record|No evidence of this visit/);
    assert.equal(
      await card(duplicate)
        .getByRole('button', { name: /I was not seen/ })
        .count(),
      0,
    );
    await auditAccessibility(page, 'patient claims');
    await cleanCard.getByRole('button', { name: /I was not seen that day/ }).click();
    await cleanCard.getByText(/^Disputed: payment is held/).waitFor({ timeout: 240_000 });
    assert.match(await cleanCard.getByTestId('claim-state').innerText(), /Disputed/);
    assert.equal((await stateOnChain(clean)).state, 4, 'Disputed on chain (Claims.State 4)');
    await shot(page, 'claims-patient');

    // 4. Back at Acme: the disputed claim shows so; a payment run pays the approved (seeded) claims, not it.
    await page.goto(`${memberOf(net, INSURER).url}/#/claims`);
    await staffSignIn(page, acmeBilling.username, acmeBilling.password);
    await rowShows(clean, 'held-state', /Disputed/);
    await shown(page).getByRole('button', { name: 'Run payment' }).click();
    await shown(page)
      .getByText(/^Payment run /)
      .waitFor({ timeout: 180_000 });
    await rowShows(clean, 'held-state', /Disputed/);
    assert.equal((await stateOnChain(clean)).state, 4, 'a disputed claim is not paid');
  });
});
