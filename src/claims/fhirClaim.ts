/**
 * An incoming FHIR R4 `Claim` (professional or institutional) into the rule engine's input.
 * First the R4 StructureDefinition check (@medplum/core; the definitions must be loaded, see
 * src/fhir/definitions.ts), then medchain's rules, each failure a ClaimMalformedError naming the
 * element: the patient is named by their chain address (identifier system urn:medchain:patient),
 * provider and insurer by their member accounts (urn:medchain:member); items carry a HCPCS Level II
 * or synthetic code, at most four two-character modifiers, whole units, USD amounts with
 * net = unitPrice x quantity, one date of service, diagnosis pointers and Encounter references;
 * then the required bindings and real dates the record service checks (src/fhir/validate.ts), so
 * the Claim is validated once where it enters: `parseValidClaim` hands it on validated.
 */
import type { Claim, ClaimItem, Money, Reference } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import { parseFhirDate } from '../fhir/dates.js';
import { MEMBER_SYSTEM } from '../fhir/remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import { type Validated, validatedResource, validateStaged } from '../fhir/validate.js';
import { ClaimMalformedError } from './claimsError.js';
import { MODIFIER_CODE, PROCEDURE_CODE } from './codes.js';
import type { ClaimInput, ClaimLine } from './model.js';

export const CLAIM_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/claim-type';
/** HCPCS Level II as HL7 terminology names it, and as CARIN Blue Button profiles do. */
export const HCPCS_SYSTEMS: readonly string[] = [
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'https://bluebutton.cms.gov/resources/codesystem/hcpcs',
];
/** medchain's plainly synthetic procedure codes (Z1001...). */
export const SYNTHETIC_PROCEDURE_SYSTEM = 'urn:medchain:procedure';
const PROCEDURE_SYSTEMS = new Set([...HCPCS_SYSTEMS, SYNTHETIC_PROCEDURE_SYSTEM]);
const MAX_ITEMS = 50;
const MAX_MODIFIERS = 4;
const ENCOUNTER_REF = /^Encounter\/([A-Za-z0-9\-.]{1,64})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const fail = (path: string, message: string): never => {
  throw new ClaimMalformedError(path, message);
};

/** Check `body` is a valid R4 Claim medchain can adjudicate and give the rule engine's input. */
export function parseClaim(body: unknown): ClaimInput {
  let claim: ClaimInput | undefined;
  validateStaged<Claim>(precheck(body), 'Claim', {
    afterStructure: (c) => {
      claim = claimInputOf(c);
    },
  });
  return claim as ClaimInput;
}

/**
 * `parseClaim` where the Claim enters a node (`Claim/$submit`, the insurer's intake): also the
 * Claim as validated, frozen, to pass on (the record service stores it, or a `revise`d copy,
 * without validating it again).
 */
export function parseValidClaim(body: unknown): { claim: ClaimInput; fhir: Validated<Claim> } {
  let claim: ClaimInput | undefined;
  const fhir = validatedResource<Claim>(precheck(body), 'Claim', {
    afterStructure: (c) => {
      claim = claimInputOf(c);
    },
  });
  return { claim: claim as ClaimInput, fhir };
}

function precheck(body: unknown): Claim {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('Claim', 'must be a JSON object');
  const c = body as Claim;
  if (c.resourceType !== 'Claim') fail('Claim.resourceType', 'must be "Claim"');
  return c;
}

/** medchain's rules over a structurally valid R4 Claim (R4 checked by the caller). */
function claimInputOf(c: Claim): ClaimInput {
  if (typeof c.id !== 'string') fail('Claim.id', 'is required (the provider’s id of the claim)');
  if (c.status !== 'active') fail('Claim.status', 'must be active to be adjudicated');
  if (c.use !== 'claim')
    fail('Claim.use', 'must be "claim" (preauthorization and predetermination are not supported)');
  const typeCode = c.type.coding?.find((x) => x.system === CLAIM_TYPE_SYSTEM)?.code;
  if (typeCode !== 'professional' && typeCode !== 'institutional') {
    fail('Claim.type', `must be coded professional or institutional in ${CLAIM_TYPE_SYSTEM}`);
  }
  const created = parseFhirDate(c.created)?.lo;
  if (created === undefined) fail('Claim.created', 'must be a real date and time');
  const diagnoses = (c.diagnosis ?? []).map((d, i) => {
    const code = d.diagnosisCodeableConcept?.coding?.[0]?.code;
    if (typeof code !== 'string')
      fail(`Claim.diagnosis[${i}]`, 'must carry a coded diagnosisCodeableConcept');
    return { sequence: d.sequence, code: code as string };
  });
  if (new Set(diagnoses.map((d) => d.sequence)).size !== diagnoses.length) {
    fail('Claim.diagnosis', 'sequences must be unique');
  }
  const items = c.item ?? [];
  if (items.length === 0) fail('Claim.item', 'a claim needs at least one item');
  if (items.length > MAX_ITEMS) fail('Claim.item', `at most ${MAX_ITEMS} items per claim`);
  const diagnosisSequences = new Set(diagnoses.map((d) => d.sequence));
  const lines = items.map((item, i) => parseItem(item, `Claim.item[${i}]`, diagnosisSequences));
  if (new Set(lines.map((l) => l.sequence)).size !== lines.length)
    fail('Claim.item', 'sequences must be unique');
  const sum = lines.reduce((n, l) => n + l.net, 0);
  const total = c.total ? cents(c.total, 'Claim.total') : sum;
  if (total !== sum) fail('Claim.total', 'must equal the sum of the items’ net amounts');
  return {
    id: c.id as string,
    type: typeCode as 'professional' | 'institutional',
    patient: account(c.patient, PATIENT_ADDRESS_SYSTEM, 'Claim.patient', 'the patient’s chain address'),
    provider: account(c.provider, MEMBER_SYSTEM, 'Claim.provider', 'the provider’s member account'),
    payer: account(c.insurer, MEMBER_SYSTEM, 'Claim.insurer', 'the insurer’s member account'),
    created: created as number,
    total,
    diagnoses,
    lines,
  };
}

function parseItem(item: ClaimItem, at: string, diagnoses: ReadonlySet<number>): ClaimLine {
  const coding = item.productOrService.coding ?? [];
  const proc = coding.find((x) => typeof x.system === 'string' && PROCEDURE_SYSTEMS.has(x.system));
  if (!proc) {
    fail(
      `${at}.productOrService`,
      `must be coded in HCPCS Level II (${HCPCS_SYSTEMS[0]}) or ${SYNTHETIC_PROCEDURE_SYSTEM}; CPT is not accepted`,
    );
  }
  const code = proc?.code ?? '';
  if (!PROCEDURE_CODE.test(code)) fail(`${at}.productOrService`, 'the code must be a letter and four digits');
  const modifiers = (item.modifier ?? []).map((m, j) => {
    const mc = m.coding?.[0]?.code ?? '';
    if (!MODIFIER_CODE.test(mc)) fail(`${at}.modifier[${j}]`, 'must be a two-character modifier code');
    return mc;
  });
  if (modifiers.length > MAX_MODIFIERS) fail(`${at}.modifier`, `at most ${MAX_MODIFIERS} modifiers`);
  const quantity = item.quantity?.value;
  if (!Number.isSafeInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 9999) {
    fail(`${at}.quantity`, 'must be a whole number of units from 1 to 9999');
  }
  if (!item.unitPrice) fail(`${at}.unitPrice`, 'is required');
  if (!item.net) fail(`${at}.net`, 'is required');
  const unitPrice = cents(item.unitPrice as Money, `${at}.unitPrice`);
  const net = cents(item.net as Money, `${at}.net`);
  if (net !== unitPrice * (quantity as number)) fail(`${at}.net`, 'must equal unitPrice x quantity');
  if (item.servicedPeriod) fail(`${at}.servicedPeriod`, 'bill one date of service per item (servicedDate)');
  const servicedDate = item.servicedDate;
  if (typeof servicedDate !== 'string' || !DATE.test(servicedDate) || !parseFhirDate(servicedDate)) {
    fail(`${at}.servicedDate`, 'is required, as a real YYYY-MM-DD date');
  }
  const diagnosisSequence = item.diagnosisSequence ?? [];
  diagnosisSequence.forEach((d, j) => {
    if (!diagnoses.has(d)) fail(`${at}.diagnosisSequence[${j}]`, `points at no diagnosis (${d})`);
  });
  const encounters = (item.encounter ?? []).map((r: Reference, j) => {
    const m = ENCOUNTER_REF.exec(r.reference ?? '');
    if (!m) fail(`${at}.encounter[${j}]`, 'must reference Encounter/<id> at the provider');
    return (m as RegExpExecArray)[1] as string;
  });
  return {
    sequence: item.sequence,
    code,
    modifiers,
    quantity: quantity as number,
    unitPrice,
    net,
    servicedDate: servicedDate as string,
    diagnosisSequence,
    encounters,
  };
}

/** Integer cents of a USD Money; more than two decimals or another currency is refused. */
function cents(m: Money, at: string): number {
  if (m.currency !== undefined && m.currency !== 'USD') fail(at, 'amounts must be in USD');
  const v = m.value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 10_000_000) {
    fail(at, 'must be an amount from 0 to 10,000,000');
  }
  const c = Math.round((v as number) * 100);
  if (Math.abs((v as number) * 100 - c) > 1e-6) fail(at, 'at most two decimals');
  return c;
}

function account(ref: Reference | undefined, system: string, at: string, what: string): Address {
  const v = ref?.identifier?.system === system ? ref.identifier.value : undefined;
  if (typeof v !== 'string' || !isAddress(v, { strict: false })) {
    fail(at, `must name ${what} as identifier ${system} (0x + 40 hex digits)`);
  }
  return getAddress(v as string);
}
