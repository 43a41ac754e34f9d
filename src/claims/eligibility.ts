/**
 * Insurance eligibility between members (issue 13), both ends:
 *
 * - the provider (`requestEligibility`): a billing user's CoverageEligibilityRequest for a patient
 *   stored here; the insurer named in it, or else the payer of the patient's stored Coverage; the
 *   request stored (logged), sent member-signed to the insurer's `/federation/eligibility`, the
 *   checked answer stored (logged) and returned;
 * - the insurer (`parseEligibilityAsk` + `answerEligibility`): the request checked against the
 *   signer, the patient's enrollment read through the gatekeeper under purpose `payment` (logged
 *   before use), and a CoverageEligibilityResponse saying whether coverage is in force that day.
 *
 * References to the patient travel as the chain-address identifier: local ids mean nothing at the
 * other member. Stored copies point at the local Patient and request as well.
 */
import { randomUUID } from 'node:crypto';
import type {
  Coverage,
  CoverageEligibilityRequest,
  CoverageEligibilityResponse,
  Identifier,
} from '@medplum/fhirtypes';
import type { Address, LocalAccount } from 'viem';
import { type Actor, type Gatekeeper, patientQuery } from '../access/gatekeeper.js';
import { mayAccess } from '../access/roles.js';
import { rolesToMask } from '../chain/scopes.js';
import { AccessDeniedError, BusinessRuleError, forbidden, UnavailableError } from '../errors.js';
import {
  parseEligibilityAsk as parseAskWire,
  parseEligibilityAnswer,
} from '../federation/eligibilityWire.js';
import { callable, type MemberTarget, postSigned } from '../federation/memberClient.js';
import { MEMBER_SYSTEM } from '../fhir/remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from '../fhir/resourceTypes.js';
import type { StoredResource } from '../records/recordService.js';
import { EligibilityMalformedError, EligibilityRefusedError } from './claimsError.js';
import { coverageFacts, coverageWith, MEMBER_NUMBER_SYSTEM } from './coverageFacts.js';
import {
  checkEligibilityResponse,
  ELIGIBILITY_REQUEST_SYSTEM,
  type EligibilityFinding,
  type EligibilityQuestion,
  eligibilityInsurer,
  eligibilityPatient,
  eligibilityResponse,
  parseEligibilityRequest,
} from './fhirEligibility.js';

const INSURER_ROLE = rolesToMask(['INSURER']);

/** What the provider's side needs. */
export interface EligibilityRequester {
  gate: Gatekeeper;
  /** This member's account. */
  self: Address;
  signer: LocalAccount;
  /** A member as the Registry has it (endpoint, roles, active). */
  member(address: Address): Promise<MemberTarget & { active: boolean; roles: number }>;
  /** The member-signed POST (default: memberClient.postSigned). */
  post?: typeof postSigned;
}

const patientIdentifier = (patient: Address) => ({ system: PATIENT_ADDRESS_SYSTEM, value: patient });

/** The stored Patient of `patient` here, read (and logged) as `actor`; refused when there is none. */
async function localPatient(gate: Gatekeeper, actor: Actor, patient: Address): Promise<StoredResource> {
  const { resources } = await gate.search(
    actor,
    patientQuery('Patient', patient, 1),
    gate.queryHash('Patient', { identifier: `${PATIENT_ADDRESS_SYSTEM}|${patient.toLowerCase()}` }),
  );
  const found = resources[0];
  if (!found)
    throw new EligibilityRefusedError(
      'unknown-patient',
      `no Patient with identifier ${PATIENT_ADDRESS_SYSTEM}|${patient} is stored at this member; register the patient first`,
    );
  return found;
}

/**
 * The patient's stored Coverage with `insurer` (or, when none is named, the first active one),
 * read and logged as `actor`: its payer and member number, either possibly missing.
 */
async function heldCoverage(
  gate: Gatekeeper,
  actor: Actor,
  patient: Address,
  insurer: Address | undefined,
): Promise<{ payer: Address | undefined; memberNumber: string | undefined }> {
  const { resources } = await gate.search(
    actor,
    patientQuery('Coverage', patient),
    gate.queryHash('Coverage', { patient: patient.toLowerCase() }),
  );
  const held = (resources as Coverage[])
    .map((c) => ({ c, f: coverageFacts(c) }))
    .filter((x) => x.f !== undefined && (insurer === undefined || x.f.payer === insurer));
  const pick = held.find((x) => x.f?.status === 'active') ?? held[0];
  return {
    payer: pick?.f?.payer,
    memberNumber: pick?.c.identifier?.find((i) => i.system === MEMBER_NUMBER_SYSTEM)?.value,
  };
}

/**
 * `POST [base]/CoverageEligibilityRequest/$submit` at the provider: ask the insurer, store the
 * request and the answer, return the answer (its patient and request pointing at the local ones).
 */
export async function requestEligibility(
  deps: EligibilityRequester,
  actor: Actor,
  body: unknown,
): Promise<StoredResource> {
  if (actor.role === 'operator' || !mayAccess(actor.role, 'write', 'CoverageEligibilityRequest'))
    throw new AccessDeniedError(`the ${actor.role} role may not ask insurers about eligibility`, 'role');
  const patient = eligibilityPatient(body);
  const b = body as CoverageEligibilityRequest;
  const local = await localPatient(deps.gate, actor, patient);
  const named = eligibilityInsurer(body);
  const held = await heldCoverage(deps.gate, actor, patient, named);
  const payer = named ?? held.payer;
  if (!payer)
    throw new EligibilityRefusedError(
      'no-coverage',
      'the patient has no Coverage naming an insurer of the consortium here; name the insurer as CoverageEligibilityRequest.insurer (identifier urn:medchain:member|0x…)',
    );
  const insurer = b.insurer ?? { identifier: { system: MEMBER_SYSTEM, value: payer } };
  // The insurer answers only a provider that knows the member number (from the card or the stored Coverage).
  const sent = b.insurance?.find((i) => i.focal) ?? b.insurance?.[0];
  const memberNumber = sent?.coverage?.identifier?.value ?? held.memberNumber;
  const insurance = memberNumber
    ? [{ focal: true, coverage: { identifier: { system: MEMBER_NUMBER_SYSTEM, value: memberNumber } } }]
    : undefined;
  const requestId: Identifier = { system: ELIGIBILITY_REQUEST_SYSTEM, value: randomUUID() };
  const wireRequest: CoverageEligibilityRequest = {
    ...b,
    identifier: [...(b.identifier ?? []).filter((i) => i.system !== ELIGIBILITY_REQUEST_SYSTEM), requestId],
    patient: { identifier: patientIdentifier(patient) },
    insurer,
    ...(insurance ? { insurance } : {}),
    provider: b.provider ?? { identifier: { system: MEMBER_SYSTEM, value: deps.self } },
  };
  delete wireRequest.id;
  delete wireRequest.meta;
  const q = parseEligibilityRequest(wireRequest);
  if (q.provider !== deps.self)
    throw new EligibilityMalformedError(
      'CoverageEligibilityRequest.provider',
      'must be this member (a provider asks in its own name)',
    );
  const target = await deps.member(q.insurer);
  if (!target.active || (target.roles & INSURER_ROLE) === 0 || !callable(target))
    throw new EligibilityRefusedError(
      'not-an-insurer',
      `${q.insurer} is not an active insurer of the consortium with an endpoint; check CoverageEligibilityRequest.insurer or the patient's Coverage`,
    );
  if (!q.memberNumber)
    throw new EligibilityRefusedError(
      'no-member-number',
      'no member number for this patient and insurer: send it as CoverageEligibilityRequest.insurance[0].coverage.identifier (from the insurance card), or store the patient’s Coverage with it',
    );
  const stored = await deps.gate.create(actor, 'CoverageEligibilityRequest', {
    ...wireRequest,
    patient: { reference: `Patient/${local.id}`, identifier: patientIdentifier(patient) },
  });
  const reply = await (deps.post ?? postSigned)(
    deps.signer,
    target,
    '/federation/eligibility',
    JSON.stringify({ request: wireRequest }),
  );
  if (reply.kind === 'unreachable')
    throw new UnavailableError(
      'insurer-unreachable',
      `${target.name || q.insurer} did not answer; the request is stored as CoverageEligibilityRequest/${stored.id}, try again later`,
    );
  if (reply.kind === 'refused')
    throw new BusinessRuleError(
      `the insurer refused the eligibility request (${reply.status}): ${reply.message}`,
    );
  const answer = checkEligibilityResponse(parseEligibilityAnswer(reply.body), q);
  const response: CoverageEligibilityResponse = {
    ...answer,
    patient: { reference: `Patient/${local.id}`, identifier: patientIdentifier(patient) },
    request: {
      reference: `CoverageEligibilityRequest/${stored.id}`,
      ...(answer.request.identifier ? { identifier: answer.request.identifier } : {}),
    },
  };
  delete response.id;
  delete response.meta;
  return deps.gate.create(actor, 'CoverageEligibilityResponse', response);
}

/**
 * The insurer's check of an incoming message from member `caller`, before anything is read: the
 * request is valid, for this insurer, and (when it names its provider) in the caller's own name.
 */
export function parseEligibilityAsk(self: Address, caller: Address, body: unknown): EligibilityQuestion {
  const q = parseEligibilityRequest(parseAskWire(body));
  if (q.insurer !== self)
    throw new BusinessRuleError(`this request is for insurer ${q.insurer}, not this member (${self})`);
  if (q.provider !== undefined && q.provider !== caller)
    throw forbidden('a provider asks about eligibility only in its own name', 'not-own-request');
  return q;
}

/** The insurer's answer to a checked request from `caller` (its enrollment read and logged first). */
export async function answerEligibility(
  deps: { gate: Gatekeeper; self: Address; now?: () => number },
  caller: Address,
  q: EligibilityQuestion,
): Promise<{ response: CoverageEligibilityResponse }> {
  const { enrolled, coverages } = await deps.gate.coverageForEligibility(caller, q.patient);
  // Covered only when the patient is enrolled here with a Coverage of this payer under the member
  // number sent; every other case is the one same answer (see EligibilityFinding).
  const matching = (coverages as Coverage[]).filter(
    (c) =>
      q.memberNumber !== undefined &&
      c.identifier?.some((i) => i.system === MEMBER_NUMBER_SYSTEM && i.value === q.memberNumber),
  );
  const facts = enrolled ? coverageWith(matching, deps.self) : undefined;
  const finding: EligibilityFinding = facts ? { kind: 'covered', facts } : { kind: 'no-match' };
  return { response: eligibilityResponse(q, finding, new Date((deps.now ?? Date.now)())) };
}
