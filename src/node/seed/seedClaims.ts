/**
 * Seeded claims for the local demo network (issue 13): once the member nodes are up, each
 * provider's billing user submits claims through the REAL route, `POST /fhir/Claim/$submit`, at its
 * own node, so every claim is anchored in a batch, adjudicated by the insurer and decided on chain
 * exactly as a user's would be. Nothing is written into a store directly.
 *
 * - Clean: per patient, City Hospital bills the admission and Valley Clinic the latest visit.
 * - Fraudulent or erroneous, across patients: an exact duplicate of a clinic claim (CARC 18), an
 *   unbundled pair Z1010 + Z1011 on one day (CARC 236 on the column-two line), units over the MUE
 *   limit, Z1020 x 6 with a limit of 4 (CARC 151), and a claim with no evidence of service
 *   (pended, CARC 252): a clinician records a new visit and the claim for it is dated two seconds
 *   before that record existed, so no head anchored before the claim can hold the visit's log
 *   entry (a claim for a visit the log cannot vouch for at claim time; nothing is faked: the
 *   provider's evidence and the insurer's check are the real ones).
 *
 * Before submitting, it waits (with a deadline) until every provider has anchored its log up to
 * the size it had when the nodes came up: the seeded Encounters' entries are then in an anchored
 * head, which the evidence rule needs. Claims go out in parallel; the duplicate after the claim it
 * repeats was decided. Each claim is recorded in `patients/claims-seeded.json` once answered, so a
 * second start submits nothing again; a claim answered 409 (submitted before a crash, not yet
 * recorded) is read back from the provider instead of being submitted twice.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Claim, ClaimResponse, Coverage, Encounter } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { CARC_SYSTEM } from '../../claims/carc.js';
import { claimIdOf, documentId } from '../../claims/claimDocuments.js';
import { SYNTHETIC_PROCEDURE_SYSTEM } from '../../claims/fhirClaim.js';
import { MedchainError } from '../../errors.js';
import { PATIENT_ADDRESS_SYSTEM } from '../../fhir/resourceTypes.js';
import { writeFileAtomic } from '../../util/atomicFile.js';
import { MEMBER_SYSTEM } from './seedCoverage.js';

/** What a seeded claim is meant to show. */
export type SeedClaimKind = 'clean' | 'duplicate' | 'unbundled' | 'units-over-limit' | 'no-evidence';

/** One seeded claim, as network.json lists it for the portal and its tests. */
export interface SeededClaim {
  /** Stable key of the seed step, e.g. `p03-clinic-clean`. */
  key: string;
  /** The patient's chain address. */
  patient: Address;
  /** The provider's name (as in network.json's members). */
  provider: string;
  /** The provider's Claim id (FHIR). */
  fhirId: string;
  /** The on-chain claim id. */
  claimId: Hex;
  expected: SeedClaimKind;
  /** The ClaimResponse outcome the insurer answered (complete, partial, error). */
  outcome: string;
  /** CARC codes per line sequence, as answered. */
  carcs: Record<string, string[]>;
}

/** A provider node as the seed talks to it. */
export interface SeedProvider {
  name: string;
  url: string;
  address: Address;
  /** Its demo billing and clinician users' passwords. */
  billingPassword: string;
  clinicianPassword: string;
}

export interface SeedClaimsOptions {
  root: string;
  hospital: SeedProvider;
  clinic: SeedProvider;
  insurer: Address;
  patients: readonly { address: string }[];
  progress: (step: string) => void;
  /** The latest block's time, ms: Claim.created must follow the anchoring block (default: wall clock). */
  chainTime?: () => Promise<number>;
  /** How long to wait for the providers' logs to be anchored (default 120 s). */
  anchorDeadlineMs?: number;
  /** Claims in flight at once (default 32: a provider batches what arrives within its window). */
  concurrency?: number;
}

/** The claims seed did not finish: a provider never anchored, or a submission was refused. */
export class ClaimSeedError extends MedchainError {
  constructor(message: string) {
    super('claim-seed-failed', message);
  }
}

interface Session {
  url: string;
  token: string;
}

async function call(s: Session, method: string, p: string, body?: unknown) {
  const res = await fetch(`${s.url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${s.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function login(url: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200)
    throw new ClaimSeedError(`the ${username} user could not sign in at ${url} (${res.status})`);
  return { url, token: ((await res.json()) as { access_token: string }).access_token };
}

const resources = <T>(b: unknown): T[] => ((b as Bundle).entry ?? []).map((e) => e.resource as T);

/** Wait until `s`'s node has anchored its log up to its size now. */
async function waitAnchored(s: Session, name: string, deadlineMs: number): Promise<void> {
  const head = async () =>
    (await call(s, 'GET', '/log/head')).body as { treeSize: number; anchored: { treeSize: number } | null };
  const target = (await head()).treeSize;
  const until = Date.now() + deadlineMs;
  for (;;) {
    const h = await head();
    if ((h.anchored?.treeSize ?? 0) >= target) return;
    if (Date.now() > until)
      throw new ClaimSeedError(
        `${name} did not anchor its log on chain within ${Math.round(deadlineMs / 1000)} s (anchored ${h.anchored?.treeSize ?? 0} of ${target} entries), so its seeded Encounters have no evidence of service yet; is its node's outbox sending (GET /admin/outbox)? Start again to resume the claims seed`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Line {
  code: string;
  units?: number;
  /** USD per unit. */
  price: number;
}

interface Plan {
  key: string;
  provider: SeedProvider;
  patient: Address;
  expected: SeedClaimKind;
  lines: readonly Line[];
  /** Which of the patient's Encounters at the provider (newest first), or a new one for no-evidence. */
  encounter: number | 'new';
  /** Key of the claim this one repeats (submitted after it). */
  repeats?: string;
}

function plans(o: SeedClaimsOptions): Plan[] {
  const out: Plan[] = [];
  o.patients.forEach((p, i) => {
    const n = String(i + 1).padStart(2, '0');
    const patient = p.address as Address;
    out.push({
      key: `p${n}-hospital-clean`,
      provider: o.hospital,
      patient,
      expected: 'clean',
      lines: [{ code: 'Z1001', price: 850 }],
      encounter: 0,
    });
    out.push({
      key: `p${n}-clinic-clean`,
      provider: o.clinic,
      patient,
      expected: 'clean',
      lines: [{ code: 'Z1020', price: 120 }],
      encounter: 0,
    });
  });
  const at = (i: number) => o.patients[i % o.patients.length]?.address as Address;
  if (o.patients.length === 0) return out;
  out.push({
    key: 'p02-clinic-duplicate',
    provider: o.clinic,
    patient: at(1),
    expected: 'duplicate',
    lines: [{ code: 'Z1020', price: 120 }],
    encounter: 0,
    repeats: 'p02-clinic-clean',
  });
  out.push({
    key: 'p04-clinic-unbundled',
    provider: o.clinic,
    patient: at(3),
    expected: 'unbundled',
    lines: [
      { code: 'Z1010', price: 200 },
      { code: 'Z1011', price: 60 },
    ],
    encounter: 1,
  });
  out.push({
    key: 'p06-clinic-units',
    provider: o.clinic,
    patient: at(5),
    expected: 'units-over-limit',
    lines: [{ code: 'Z1020', units: 6, price: 120 }],
    encounter: 2,
  });
  out.push({
    key: 'p08-clinic-no-evidence',
    provider: o.clinic,
    patient: at(7),
    expected: 'no-evidence',
    lines: [{ code: 'Z1021', price: 75 }],
    encounter: 'new',
  });
  return out;
}

interface Sessions {
  billing: Map<string, Session>;
  clinician: Map<string, Session>;
}

/** The patient's Encounters at the provider, newest first, and its Coverage with the insurer. */
async function patientAt(s: Session, patient: Address, insurer: Address) {
  const enc = await call(s, 'GET', `/fhir/Encounter?patient=${patient}&_count=100`);
  const cov = await call(s, 'GET', `/fhir/Coverage?patient=${patient}&_count=100`);
  if (enc.status !== 200 || cov.status !== 200)
    throw new ClaimSeedError(
      `could not read patient ${patient}'s Encounters or Coverage (${enc.status}/${cov.status})`,
    );
  const encounters = resources<Encounter>(enc.body).sort((a, b) =>
    (b.period?.start ?? '').localeCompare(a.period?.start ?? ''),
  );
  const coverage = resources<Coverage>(cov.body).find((c) =>
    c.payor?.some((p) => p.identifier?.value?.toLowerCase() === insurer.toLowerCase()),
  );
  return { encounters, coverage };
}

async function buildClaim(
  plan: Plan,
  encounter: Encounter,
  coverage: Coverage,
  insurer: Address,
  created: number,
): Promise<Claim> {
  const servicedDate = (encounter.period?.start ?? new Date(created).toISOString()).slice(0, 10);
  const item = plan.lines.map((l, i) => {
    const units = l.units ?? 1;
    return {
      sequence: i + 1,
      productOrService: { coding: [{ system: SYNTHETIC_PROCEDURE_SYSTEM, code: l.code }] },
      servicedDate,
      quantity: { value: units },
      unitPrice: { value: l.price, currency: 'USD' },
      net: { value: Math.round(l.price * units * 100) / 100, currency: 'USD' },
      diagnosisSequence: [1],
      encounter: [{ reference: `Encounter/${encounter.id}` }],
    };
  });
  const total = item.reduce((n, i) => n + Math.round(i.net.value * 100), 0) / 100;
  return {
    resourceType: 'Claim',
    id: `seed-${plan.key}`,
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: {
      ...(encounter.subject?.reference ? { reference: encounter.subject.reference } : {}),
      identifier: { system: PATIENT_ADDRESS_SYSTEM, value: plan.patient },
    },
    created: new Date(created).toISOString(),
    provider: { identifier: { system: MEMBER_SYSTEM, value: plan.provider.address } },
    insurer: { identifier: { system: MEMBER_SYSTEM, value: insurer } },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${coverage.id}` } }],
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'Z00.00' }],
        },
      },
    ],
    item,
    total: { value: total, currency: 'USD' },
  } as Claim;
}

function carcsOf(r: ClaimResponse): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of r.item ?? [])
    out[String(i.itemSequence)] = (i.adjudication ?? []).flatMap(
      (a) => a.reason?.coding?.filter((c) => c.system === CARC_SYSTEM).map((c) => c.code as string) ?? [],
    );
  if (r.error)
    out['0'] = r.error.flatMap(
      (e) => e.code.coding?.filter((c) => c.system === CARC_SYSTEM).map((c) => c.code as string) ?? [],
    );
  return out;
}

/** What a seeded claim must have been answered, or a reason it was not. */
export function unexpected(c: Pick<SeededClaim, 'expected' | 'outcome' | 'carcs'>): string | undefined {
  const all = Object.values(c.carcs).flat();
  const want: Record<SeedClaimKind, [string, string | undefined]> = {
    clean: ['complete', undefined],
    duplicate: ['complete', '18'],
    unbundled: ['complete', '236'],
    'units-over-limit': ['complete', '151'],
    'no-evidence': ['partial', '252'],
  };
  const [outcome, carc] = want[c.expected];
  if (c.outcome !== outcome) return `answered ${c.outcome}, expected ${outcome}`;
  if (carc === undefined ? all.length > 0 : !all.includes(carc))
    return `reason codes ${all.join(',') || 'none'}, expected ${carc ?? 'none'}`;
  return undefined;
}

async function submitOne(o: SeedClaimsOptions, s: Sessions, plan: Plan): Promise<SeededClaim> {
  const billing = s.billing.get(plan.provider.name) as Session;
  const { encounters, coverage } = await patientAt(billing, plan.patient, o.insurer);
  if (!coverage)
    throw new ClaimSeedError(`${plan.provider.name} holds no Coverage of ${plan.patient} with the insurer`);
  let encounter: Encounter | undefined;
  let created: number;
  if (plan.encounter === 'new') {
    // Dated before the visit's record exists: no head anchored before the claim can hold it.
    created = Date.now() - 2_000;
    const subject = encounters[0]?.subject?.reference;
    const clinician = s.clinician.get(plan.provider.name) as Session;
    const r = await call(clinician, 'POST', '/fhir/Encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: {
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        code: 'AMB',
        display: 'ambulatory',
      },
      subject: { reference: subject },
      period: { start: new Date().toISOString(), end: new Date().toISOString() },
    });
    if (r.status !== 201)
      throw new ClaimSeedError(`${plan.provider.name} could not record the new visit (${r.status})`);
    encounter = r.body as Encounter;
  } else {
    encounter = encounters[Math.min(plan.encounter, encounters.length - 1)];
    created = Math.max(Date.now(), (await o.chainTime?.()) ?? 0) + 1_000;
  }
  if (!encounter) throw new ClaimSeedError(`${plan.provider.name} holds no Encounter of ${plan.patient}`);
  const claim = await buildClaim(plan, encounter, coverage, o.insurer, created);
  const r = await call(billing, 'POST', '/fhir/Claim/$submit', claim);
  let response: ClaimResponse;
  if (r.status === 200) response = r.body as ClaimResponse;
  else if (r.status === 409) {
    // Submitted before a crash, not recorded: the provider holds its Claim and the answer.
    const stored = await call(billing, 'GET', `/fhir/Claim/${claim.id}`);
    const id = stored.status === 200 ? claimIdOf(stored.body as Claim) : undefined;
    const prior = id ? await call(billing, 'GET', `/fhir/ClaimResponse/${documentId(id)}`) : undefined;
    if (prior?.status !== 200)
      throw new ClaimSeedError(
        `${claim.id} was submitted before but its ClaimResponse is not at ${plan.provider.name}`,
      );
    response = prior.body as ClaimResponse;
  } else
    throw new ClaimSeedError(
      `${plan.provider.name} refused the seeded claim ${claim.id} (${r.status}): ${JSON.stringify(r.body).slice(0, 300)}`,
    );
  const claimId = claimIdOf(response);
  if (!claimId) throw new ClaimSeedError(`the ClaimResponse to ${claim.id} names no on-chain claim id`);
  return {
    key: plan.key,
    patient: plan.patient,
    provider: plan.provider.name,
    fhirId: claim.id as string,
    claimId,
    expected: plan.expected,
    outcome: response.outcome ?? '',
    carcs: carcsOf(response),
  };
}

/** Seed the demo claims (once); returns every seeded claim, those of earlier runs included. */
export async function seedClaims(o: SeedClaimsOptions): Promise<SeededClaim[]> {
  const marker = path.join(o.root, 'patients', 'claims-seeded.json');
  const done: SeededClaim[] = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')).claims : [];
  const todo = plans(o).filter((p) => !done.some((d) => d.key === p.key));
  if (todo.length === 0) return done;
  const started = Date.now();
  const providers = [o.hospital, o.clinic];
  const s: Sessions = { billing: new Map(), clinician: new Map() };
  for (const p of providers) {
    s.billing.set(p.name, await login(p.url, 'billing', p.billingPassword));
    s.clinician.set(p.name, await login(p.url, 'clinician', p.clinicianPassword));
  }
  o.progress('claims: waiting for the providers to anchor their logs (evidence of service)');
  await Promise.all(
    providers.map((p) =>
      waitAnchored(s.billing.get(p.name) as Session, p.name, o.anchorDeadlineMs ?? 120_000),
    ),
  );
  const record = (c: SeededClaim) => {
    done.push(c);
    writeFileAtomic(marker, `${JSON.stringify({ claims: done }, null, 2)}\n`, 0o600);
  };
  const run = async (wave: Plan[]) => {
    const queue = [...wave];
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) record(await submitOne(o, s, p));
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 32, queue.length) }, worker));
  };
  o.progress(`claims: submitting ${todo.length} claims through Claim/$submit`);
  await run(todo.filter((p) => !p.repeats));
  await run(todo.filter((p) => p.repeats));
  for (const c of done) {
    const why = unexpected(c);
    if (why) o.progress(`claims: seeded claim ${c.key} ${why}`);
  }
  o.progress(`claims: ${todo.length} seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return done;
}
