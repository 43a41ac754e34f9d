/**
 * FHIR R4 `CoverageEligibilityRequest` in and `CoverageEligibilityResponse` out (issue 13): the
 * provider asks whether the patient's coverage with an insurer is in force on a date of service.
 * First the R4 StructureDefinition check (@medplum/core, definitions loaded by the caller), then
 * medchain's rules, each failure an EligibilityMalformedError naming the element: the patient by
 * chain address (`urn:medchain:patient`), insurer and provider by member account
 * (`urn:medchain:member`), purpose `validation` and/or `benefits`, one `servicedDate`.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { CoverageEligibilityRequest, CoverageEligibilityResponse, Reference } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import { unprocessable } from '../errors.js';
import { parseFhirDate } from '../fhir/dates.js';
import { MEMBER_SYSTEM } from '../fhir/remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import { EligibilityMalformedError } from './claimsError.js';
import type { CoverageFacts } from './model.js';

/** Identifier system of the provider's id of one eligibility request (how the answer names it). */
export const ELIGIBILITY_REQUEST_SYSTEM = 'urn:medchain:eligibility-request';
/** Code system of medchain's eligibility errors (`no-match`). */
export const ELIGIBILITY_ERROR_SYSTEM = 'urn:medchain:eligibility-error';
/** The purposes medchain answers: is it in force, and (the same facts) for which period. */
export const ELIGIBILITY_PURPOSES = ['validation', 'benefits'] as const;
export type EligibilityPurpose = (typeof ELIGIBILITY_PURPOSES)[number];

/** What the insurer needs of a request. */
export interface EligibilityQuestion {
  patient: Address;
  insurer: Address;
  provider: Address | undefined;
  purposes: EligibilityPurpose[];
  /** YYYY-MM-DD. */
  servicedDate: string;
  /** The provider's identifier of this request (`urn:medchain:eligibility-request`), if it has one. */
  requestId: string | undefined;
  /**
   * The member number the provider holds for this patient (from the insurance card or its stored
   * Coverage: `insurance[focal or first].coverage.identifier.value`). The insurer answers
   * "covered" only when it matches, so a provider without it learns nothing of who insures whom.
   */
  memberNumber: string | undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const fail = (path: string, message: string): never => {
  throw new EligibilityMalformedError(path, message);
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The account a reference names by `identifier` of `system`, or undefined when it names none. */
function addressIn(ref: Reference | undefined, system: string, path: string): Address | undefined {
  if (ref === undefined) return undefined;
  const id = ref.identifier;
  if (id?.system !== system || typeof id.value !== 'string')
    fail(path, `must name the account as identifier ${system}|0x…`);
  if (!isAddress(id?.value as string, { strict: false }))
    fail(`${path}.identifier.value`, 'must be an address');
  return getAddress(id?.value as string);
}

/** The insurer a request names, if it names one (before the rest is checked, like the patient). */
export const eligibilityInsurer = (body: unknown): Address | undefined =>
  addressIn(
    (body as CoverageEligibilityRequest | undefined)?.insurer,
    MEMBER_SYSTEM,
    'CoverageEligibilityRequest.insurer',
  );

/**
 * The patient a request is about (before the rest is checked: the provider may have to find the
 * insurer from this patient's Coverage first).
 */
export function eligibilityPatient(body: unknown): Address {
  if (!isObject(body)) fail('CoverageEligibilityRequest', 'must be a JSON object');
  const b = body as Partial<CoverageEligibilityRequest>;
  if (b.resourceType !== 'CoverageEligibilityRequest')
    fail('CoverageEligibilityRequest.resourceType', 'must be "CoverageEligibilityRequest"');
  const patient = addressIn(b.patient ?? {}, PATIENT_ADDRESS_SYSTEM, 'CoverageEligibilityRequest.patient');
  return patient as Address;
}

/** R4 validation with @medplum/core; its issues become a 422 listing them. */
function validR4(resource: CoverageEligibilityRequest | CoverageEligibilityResponse): void {
  try {
    validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      const issues = err.outcome.issue ?? [];
      throw unprocessable(
        `${resource.resourceType} is not valid FHIR R4: ${issues.length} problem(s)`,
        issues,
      );
    }
    throw err;
  }
}

/** Check `body` is a request medchain answers, and give what the insurer needs of it. */
export function parseEligibilityRequest(body: unknown): EligibilityQuestion {
  const patient = eligibilityPatient(body);
  const r = body as CoverageEligibilityRequest;
  validR4(r);
  const at = 'CoverageEligibilityRequest';
  if (r.status !== 'active') fail(`${at}.status`, 'must be active');
  const purposes = [...new Set(r.purpose)];
  for (const p of purposes)
    if (!(ELIGIBILITY_PURPOSES as readonly string[]).includes(p))
      fail(`${at}.purpose`, `"${p}" is not answered here; ask for validation and/or benefits`);
  const insurer = addressIn(r.insurer, MEMBER_SYSTEM, `${at}.insurer`) as Address;
  const provider = addressIn(r.provider, MEMBER_SYSTEM, `${at}.provider`);
  if (r.servicedPeriod) fail(`${at}.servicedPeriod`, 'is not supported; send one servicedDate');
  if (typeof r.servicedDate !== 'string' || !DATE.test(r.servicedDate) || !parseFhirDate(r.servicedDate))
    fail(`${at}.servicedDate`, 'is required, a full date (YYYY-MM-DD)');
  if (r.item?.length)
    fail(`${at}.item`, 'is not supported: eligibility is answered for the coverage as a whole');
  const requestId = r.identifier?.find((i) => i.system === ELIGIBILITY_REQUEST_SYSTEM)?.value;
  const insurance = r.insurance?.find((i) => i.focal) ?? r.insurance?.[0];
  const memberNumber = insurance?.coverage?.identifier?.value;
  if (memberNumber !== undefined && (memberNumber.length === 0 || memberNumber.length > 64))
    fail(`${at}.insurance.coverage.identifier.value`, 'must be the member number, 1 to 64 characters');
  return {
    patient,
    insurer,
    provider,
    purposes: purposes as EligibilityPurpose[],
    servicedDate: r.servicedDate as string,
    requestId,
    memberNumber,
  };
}

/** Whether `facts` put the coverage in force on `date` (YYYY-MM-DD): active and within its period. */
export function inForceOn(facts: CoverageFacts, date: string): boolean {
  return (
    facts.status === 'active' &&
    (facts.start === undefined || facts.start <= date) &&
    (facts.end === undefined || date <= facts.end)
  );
}

/** The insurer's answer, as it found the patient's enrollment. */
export type EligibilityFinding =
  | {
      kind: 'covered';
      facts: CoverageFacts;
    }
  /**
   * One answer for "not enrolled here", "no coverage with this insurer", "no member number sent"
   * and "another member number": which of them it is would tell the asker who insures whom.
   */
  | { kind: 'no-match' };

const ERROR_TEXT = {
  'no-match':
    'no coverage with this insurer matches this patient and member number; check the member number on the insurance card',
} as const;

/** The CoverageEligibilityResponse for `q` (validated R4 before it is returned). */
export function eligibilityResponse(
  q: EligibilityQuestion,
  finding: EligibilityFinding,
  created: Date,
): CoverageEligibilityResponse {
  const base: CoverageEligibilityResponse = {
    resourceType: 'CoverageEligibilityResponse',
    status: 'active',
    purpose: q.purposes,
    patient: { identifier: { system: PATIENT_ADDRESS_SYSTEM, value: q.patient } },
    servicedDate: q.servicedDate,
    created: created.toISOString(),
    request: q.requestId
      ? { identifier: { system: ELIGIBILITY_REQUEST_SYSTEM, value: q.requestId } }
      : { display: 'the provider’s CoverageEligibilityRequest' },
    insurer: { identifier: { system: MEMBER_SYSTEM, value: q.insurer } },
    outcome: finding.kind === 'covered' ? 'complete' : 'error',
  };
  let r: CoverageEligibilityResponse;
  if (finding.kind === 'covered') {
    const inforce = inForceOn(finding.facts, q.servicedDate);
    const period =
      finding.facts.start || finding.facts.end
        ? {
            benefitPeriod: {
              ...(finding.facts.start ? { start: finding.facts.start } : {}),
              ...(finding.facts.end ? { end: finding.facts.end } : {}),
            },
          }
        : {};
    r = {
      ...base,
      disposition: inforce
        ? `coverage in force on ${q.servicedDate}`
        : `coverage not in force on ${q.servicedDate}`,
      insurance: [
        {
          coverage: { display: 'the patient’s Coverage with this insurer (the member number sent)' },
          inforce,
          ...period,
        },
      ],
    };
  } else {
    r = {
      ...base,
      disposition: ERROR_TEXT[finding.kind],
      error: [
        {
          code: {
            coding: [{ system: ELIGIBILITY_ERROR_SYSTEM, code: finding.kind }],
            text: ERROR_TEXT[finding.kind],
          },
        },
      ],
    };
  }
  validR4(r);
  return r;
}

/**
 * Check an insurer's answer to `q` before the provider stores it: valid R4, complete or error, and
 * about the same patient, insurer and request.
 */
export function checkEligibilityResponse(body: unknown, q: EligibilityQuestion): CoverageEligibilityResponse {
  const at = 'CoverageEligibilityResponse';
  if (!isObject(body) || body.resourceType !== 'CoverageEligibilityResponse')
    fail(at, 'the insurer did not answer a CoverageEligibilityResponse');
  const r = body as unknown as CoverageEligibilityResponse;
  validR4(r);
  if (r.outcome !== 'complete' && r.outcome !== 'error') fail(`${at}.outcome`, 'must be complete or error');
  if (addressIn(r.patient, PATIENT_ADDRESS_SYSTEM, `${at}.patient`) !== q.patient)
    fail(`${at}.patient`, 'is not the patient asked about');
  if (addressIn(r.insurer, MEMBER_SYSTEM, `${at}.insurer`) !== q.insurer)
    fail(`${at}.insurer`, 'is not the insurer asked');
  if (q.requestId && r.request.identifier?.value !== q.requestId)
    fail(`${at}.request`, 'does not name the request sent');
  if (r.outcome === 'complete' && !r.insurance?.length)
    fail(`${at}.insurance`, 'a complete answer must say whether the coverage is in force');
  return r;
}
